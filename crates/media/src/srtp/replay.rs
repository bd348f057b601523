//! The 64-packet sliding replay window of RFC 3711 3.3.2, over 48-bit SRTP or 31-bit SRTCP
//! indices.

/// Remembers which of the last 64 indices were accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Highest accepted index; `None` before the first packet.
    top: Option<u64>,
    /// Bit n set: index `top - n` was accepted.
    bits: u64,
}

impl ReplayWindow {
    /// Whether `index` would be accepted (not seen, not older than the window).
    pub fn check(&self, index: u64) -> bool {
        let Some(top) = self.top else { return true };
        if index > top {
            return true;
        }
        let age = top - index;
        age < 64 && self.bits & (1 << age) == 0
    }

    /// Records an authenticated `index` (call only after [`ReplayWindow::check`] passed).
    pub fn accept(&mut self, index: u64) {
        match self.top {
            None => {
                self.top = Some(index);
                self.bits = 1;
            }
            Some(top) if index > top => {
                let shift = index - top;
                self.bits = if shift >= 64 { 0 } else { self.bits << shift };
                self.bits |= 1;
                self.top = Some(index);
            }
            Some(top) => {
                let age = top - index;
                if age < 64 {
                    self.bits |= 1 << age;
                }
            }
        }
    }

    /// Highest accepted index.
    pub fn top(&self) -> Option<u64> {
        self.top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicates_and_old_accepts_late_in_window() {
        let mut w = ReplayWindow::default();
        assert!(w.check(100));
        w.accept(100);
        assert!(!w.check(100));
        assert!(w.check(99));
        w.accept(99);
        assert!(!w.check(99));
        w.accept(200);
        assert!(!w.check(136), "older than 64 behind the top");
        assert!(w.check(137));
        assert!(!w.check(200));
        assert_eq!(w.top(), Some(200));
    }
}
