//! The relay's port range as pairs: an even port for RTP and the odd one above it for RTCP.

/// Free and used RTP/RTCP port pairs of a range, handed out round-robin so a just-freed pair
/// is not reused at once (late packets of the old stream would reach the new one).
#[derive(Debug, Clone)]
pub struct PortPool {
    first: u16,
    used: Vec<bool>,
    next: usize,
}

impl PortPool {
    /// The pairs `(p, p+1)` with `p` even inside `min..=max`.
    pub fn new(min: u16, max: u16) -> Self {
        let first = min.saturating_add(min % 2);
        let pairs = if max > first {
            usize::from(max - first).div_ceil(2)
        } else {
            0
        };
        PortPool {
            first,
            used: vec![false; pairs],
            next: 0,
        }
    }

    /// Takes the next free pair's RTP port.
    pub fn take(&mut self) -> Option<u16> {
        let n = self.used.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if !self.used[i] {
                self.used[i] = true;
                self.next = (i + 1) % n;
                return u16::try_from(i * 2).ok().map(|o| self.first + o);
            }
        }
        None
    }

    /// Returns a pair taken before.
    pub fn give(&mut self, rtp_port: u16) {
        if let Some(i) = rtp_port
            .checked_sub(self.first)
            .map(|o| usize::from(o / 2))
            .filter(|&i| i < self.used.len())
        {
            self.used[i] = false;
        }
    }

    /// Pairs not taken.
    pub fn free(&self) -> usize {
        self.used.iter().filter(|u| !**u).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_even_pairs_round_robin() {
        let mut p = PortPool::new(50001, 50007);
        assert_eq!(p.free(), 3);
        assert_eq!(p.take(), Some(50002));
        assert_eq!(p.take(), Some(50004));
        p.give(50002);
        assert_eq!(p.take(), Some(50006));
        assert_eq!(p.take(), Some(50002));
        assert_eq!(p.take(), None);
        p.give(1);
        p.give(60000);
        assert_eq!(p.free(), 0);
        assert_eq!(PortPool::new(5, 5).take(), None);
    }
}
