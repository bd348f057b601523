//! AES in counter mode as SRTP uses it (RFC 3711 4.1.1) and the key derivation built on it
//! (RFC 3711 4.3, key derivation rate 0).

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes128;

use super::{MASTER_KEY_LEN, MASTER_SALT_LEN};

/// XORs `data` with the AES-CM keystream starting at counter block `iv` (the last two bytes
/// are the block counter, so one call covers up to 2^16 blocks).
pub(crate) fn xor_keystream(cipher: &Aes128, iv: &[u8; 16], data: &mut [u8]) {
    // blocks are encrypted in batches so AES-NI pipelines them
    const BATCH: usize = 8;
    let mut blocks = [aes::Block::default(); BATCH];
    let mut counter = *iv;
    for chunk in data.chunks_mut(16 * BATCH) {
        let n = chunk.len().div_ceil(16);
        for block in &mut blocks[..n] {
            *block = aes::Block::from(counter);
            let c = u16::from_be_bytes([counter[14], counter[15]]).wrapping_add(1);
            counter[14..].copy_from_slice(&c.to_be_bytes());
        }
        cipher.encrypt_blocks(&mut blocks[..n]);
        for (part, block) in chunk.chunks_mut(16).zip(&blocks) {
            for (d, k) in part.iter_mut().zip(block.iter()) {
                *d ^= k;
            }
        }
    }
}

/// The session keys of one direction, derived from an SDES master key and salt.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// SRTP encryption key (label 0).
    pub rtp_cipher: [u8; 16],
    /// SRTP authentication key (label 1).
    pub rtp_auth: [u8; 20],
    /// SRTP salt (label 2).
    pub rtp_salt: [u8; 14],
    /// SRTCP encryption key (label 3).
    pub rtcp_cipher: [u8; 16],
    /// SRTCP authentication key (label 4).
    pub rtcp_auth: [u8; 20],
    /// SRTCP salt (label 5).
    pub rtcp_salt: [u8; 14],
}

impl std::fmt::Debug for SessionKeys {
    // keys never reach logs
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

/// Fills `out` with the PRF output for `label` (key_id = label || 0 since the rate is 0).
fn derive(master: &Aes128, salt: &[u8; MASTER_SALT_LEN], label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..MASTER_SALT_LEN].copy_from_slice(salt);
    // key_id is 7 bytes right-aligned in the 14-byte salt: the label lands at byte 7
    iv[7] ^= label;
    out.fill(0);
    xor_keystream(master, &iv, out);
}

/// Derives the six session keys from a master key and salt.
pub fn derive_session_keys(
    key: &[u8; MASTER_KEY_LEN],
    salt: &[u8; MASTER_SALT_LEN],
) -> SessionKeys {
    let master = Aes128::new(&(*key).into());
    let mut k = SessionKeys {
        rtp_cipher: [0; 16],
        rtp_auth: [0; 20],
        rtp_salt: [0; 14],
        rtcp_cipher: [0; 16],
        rtcp_auth: [0; 20],
        rtcp_salt: [0; 14],
    };
    derive(&master, salt, 0, &mut k.rtp_cipher);
    derive(&master, salt, 1, &mut k.rtp_auth);
    derive(&master, salt, 2, &mut k.rtp_salt);
    derive(&master, salt, 3, &mut k.rtcp_cipher);
    derive(&master, salt, 4, &mut k.rtcp_auth);
    derive(&master, salt, 5, &mut k.rtcp_salt);
    k
}

/// The counter block for a packet: salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16.
pub(crate) fn packet_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (d, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *d ^= s;
    }
    for (d, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *d ^= s;
    }
    iv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc3711_b2_keystream() {
        let key: [u8; 16] = hex("2B7E151628AED2A6ABF7158809CF4F3C").try_into().unwrap();
        let cipher = Aes128::new(&key.into());
        let iv: [u8; 16] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000").try_into().unwrap();
        let mut ks = vec![0u8; 16 * 0xff02];
        xor_keystream(&cipher, &iv, &mut ks);
        let block = |n: usize| ks[n * 16..n * 16 + 16].to_vec();
        assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
        assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
        assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
        assert_eq!(block(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
        assert_eq!(block(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
        assert_eq!(block(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
    }

    #[test]
    fn rfc3711_b3_key_derivation() {
        let key: [u8; 16] = hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().unwrap();
        let salt: [u8; 14] = hex("0EC675AD498AFEEBB6960B3AABE6").try_into().unwrap();
        let k = derive_session_keys(&key, &salt);
        assert_eq!(
            k.rtp_cipher.to_vec(),
            hex("C61E7A93744F39EE10734AFE3FF7A087")
        );
        assert_eq!(k.rtp_salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        assert_eq!(
            k.rtp_auth.to_vec(),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
        );
    }

    #[test]
    fn packet_iv_places_ssrc_and_index() {
        let iv = packet_iv(&[0; 14], 0x0102_0304, 0x0000_a0b0_c0d0_e0f0);
        assert_eq!(iv[4..8], [1, 2, 3, 4]);
        assert_eq!(iv[8..14], [0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0]);
        assert_eq!(iv[14..], [0, 0]);
    }
}
