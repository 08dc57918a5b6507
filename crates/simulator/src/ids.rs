//! Deterministic, collision-free identifiers derived from counters and the seed.
//!
//! Every identifier is a bijective scramble of a per-run counter, so identifiers look random
//! but can never repeat within a run.

/// A SplitMix64 finaliser: a bijection on `u64` with good avalanche.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A bijection on the `bits`-wide integers `[0, 2^bits)`.
fn permute_bits(x: u64, key: u64, bits: u32) -> u64 {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let half = bits / 2;
    let mut v = (x ^ key) & mask;
    for round in 0..3u64 {
        // Multiplying by an odd constant and xor-shifting right are both invertible modulo 2^bits.
        v = v
            .wrapping_mul(0x9e37_79b9_7f4a_7c15 | 1)
            .wrapping_add(round)
            & mask;
        v ^= v >> half;
    }
    v
}

/// Generates the identifiers of one simulated run.
#[derive(Debug, Clone)]
pub(crate) struct IdSource {
    event_key: u64,
    message_key: u64,
    message_prefix: u16,
    transmission_key: u64,
}

impl IdSource {
    /// Identifier keys for a seed.
    pub(crate) fn new(seed: u64) -> Self {
        IdSource {
            event_key: mix64(seed ^ 0x6576_656e_7473),
            message_key: mix64(seed ^ 0x6d65_7373_6167_6573),
            message_prefix: (mix64(seed ^ 0x7072_6566) & 0x0fff) as u16,
            transmission_key: mix64(seed ^ 0x7472_616e_736d),
        }
    }

    /// The numeric `event_id` of the `n`-th event: 18 digits, unique per run.
    pub(crate) fn event_id(&self, n: u64) -> u64 {
        100_000_000_000_000_000 + permute_bits(n, self.event_key, 58)
    }

    /// The numeric `transmission_id` of the `n`-th transmission: 17 digits, unique per run.
    pub(crate) fn transmission_id(&self, n: u64) -> u64 {
        10_000_000_000_000_000 + permute_bits(n, self.transmission_key, 56)
    }

    /// Writes the 20-hex-digit `message_id` of the `n`-th message into `out`.
    pub(crate) fn message_id(&self, n: u64, out: &mut [u8; 20]) {
        let body = permute_bits(n, self.message_key, 64);
        let prefix = u64::from(self.message_prefix);
        write_hex(prefix, &mut out[..4]);
        write_hex(body, &mut out[4..]);
    }
}

/// Writes the low `out.len()` hex digits of `value`, most significant first.
pub(crate) fn write_hex(mut value: u64, out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn event_ids_are_unique_and_eighteen_digits() {
        let ids = IdSource::new(42);
        let mut seen = HashSet::new();
        for n in 0..200_000 {
            let id = ids.event_id(n);
            assert_eq!(id.to_string().len(), 18);
            assert!(seen.insert(id), "duplicate event id for counter {n}");
        }
    }

    #[test]
    fn message_ids_are_unique_hex_and_seed_dependent() {
        let a = IdSource::new(1);
        let b = IdSource::new(2);
        let mut seen = HashSet::new();
        let mut buf = [0u8; 20];
        for n in 0..100_000 {
            a.message_id(n, &mut buf);
            assert!(buf.iter().all(|c| c.is_ascii_hexdigit()));
            assert!(seen.insert(buf));
        }
        let mut other = [0u8; 20];
        a.message_id(5, &mut buf);
        b.message_id(5, &mut other);
        assert_ne!(buf, other);
    }

    #[test]
    fn transmission_ids_have_seventeen_digits() {
        let ids = IdSource::new(9);
        for n in [0, 1, 1_000, u64::from(u32::MAX)] {
            assert_eq!(ids.transmission_id(n).to_string().len(), 17);
        }
    }

    #[test]
    fn write_hex_pads_with_zeros() {
        let mut out = [0u8; 6];
        write_hex(0xabc, &mut out);
        assert_eq!(&out, b"000abc");
    }
}
