//! Spotting repeated keys among an event's top-level members.

use crate::field_dictionary::field_entry;
use crate::{FieldSpec, FIELD_DICTIONARY};

/// Words of the bit set over [`FIELD_DICTIONARY`].
const WORDS: usize = FIELD_DICTIONARY.len().div_ceil(64);

/// Fields outside the dictionary one event may have for the linear repeat check; events with
/// more take the value-tree path, which keeps the check cheap on any input.
const MAX_UNKNOWN_FIELDS: usize = 64;

/// The keys seen so far: dictionary fields in a bit set, others in a short list.
#[derive(Default)]
pub(crate) struct SeenKeys<'a> {
    known: [u64; WORDS],
    unknown: Vec<&'a str>,
}

impl<'a> SeenKeys<'a> {
    /// Records `name` and returns its dictionary entry (`Some(None)` for an unknown field);
    /// `None` when the key was seen before or there are too many unknown fields.
    pub(crate) fn insert(&mut self, name: &'a str) -> Option<Option<&'static FieldSpec>> {
        match field_entry(name) {
            Some((position, spec)) => {
                let word = self.known.get_mut(position / 64)?;
                let bit = 1u64 << (position % 64);
                if *word & bit != 0 {
                    return None;
                }
                *word |= bit;
                Some(Some(spec))
            }
            None => {
                if self.unknown.len() >= MAX_UNKNOWN_FIELDS || self.unknown.contains(&name) {
                    return None;
                }
                self.unknown.push(name);
                Some(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldKind;

    #[test]
    fn known_and_unknown_repeats_are_spotted() {
        let mut seen = SeenKeys::default();
        assert_eq!(
            seen.insert("rcpt_to")
                .map(|spec| spec.map(|spec| spec.kind)),
            Some(Some(FieldKind::Text))
        );
        assert_eq!(seen.insert("custom"), Some(None));
        assert!(matches!(seen.insert("bounce_class"), Some(Some(_))));
        assert_eq!(seen.insert("rcpt_to"), None);
        assert_eq!(seen.insert("custom"), None);
        assert!(seen.insert("Custom").is_some());
    }

    #[test]
    fn every_dictionary_field_fits_the_bit_set() {
        let mut seen = SeenKeys::default();
        for spec in FIELD_DICTIONARY {
            assert!(seen.insert(spec.name).is_some(), "{}", spec.name);
        }
        for spec in FIELD_DICTIONARY {
            assert!(seen.insert(spec.name).is_none(), "{}", spec.name);
        }
    }

    #[test]
    fn too_many_unknown_fields_are_left_to_the_value_path() {
        let names: Vec<String> = (0..=MAX_UNKNOWN_FIELDS).map(|i| format!("x{i}")).collect();
        let mut seen = SeenKeys::default();
        for name in &names[..MAX_UNKNOWN_FIELDS] {
            assert_eq!(seen.insert(name), Some(None));
        }
        assert_eq!(seen.insert(&names[MAX_UNKNOWN_FIELDS]), None);
    }
}
