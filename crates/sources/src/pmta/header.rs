//! The header: which column holds which field.
//!
//! An accounting file starts with a line naming its columns (`type,timeLogged,orig,…`), and
//! the first column is always the record type, so a line whose first field is `type` is a
//! header. PowerMTA writes one header for all the record types of a file: when a file takes
//! several types, each configured with its own `record-fields`, the header is the union of
//! their columns and a record leaves the columns of the other types empty. So one header
//! serves every record; records of different types with different `record-fields` are
//! supported as long as they share the file's header, as PowerMTA writes them. A later
//! header line (the file was rotated, or PowerMTA restarted with other `record-fields`)
//! replaces the mapping for the lines after it.
//!
//! Columns are found by name, ignoring ASCII case (PowerMTA spells them in camel case;
//! `header_<Name>` columns carry a mail header's name, which is case-insensitive); the
//! first of two columns with the same name wins, and columns this source does not know are
//! ignored. **Unknown**: whether a file may hold records whose columns differ from its
//! header (no documented case does), and the full list of PowerMTA's column names.

/// The column names of an accounting file, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    columns: Vec<String>,
}

impl Header {
    /// A header from its column names, in order. A byte-order mark before the first name is
    /// dropped, as is space around each name.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Header {
        let columns = names
            .into_iter()
            .enumerate()
            .map(|(at, name)| {
                let name = if at == 0 {
                    name.trim_start_matches('\u{feff}')
                } else {
                    name
                };
                name.trim().to_owned()
            })
            .collect();
        Header { columns }
    }

    /// A header from a comma-separated line of names, read with CSV quoting.
    pub fn parse(line: &str) -> Header {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes());
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) => Header::new(record.iter()),
            _ => Header::default(),
        }
    }

    /// True when `first_field` (a line's first field) marks the line as a header.
    pub fn is_header_line(first_field: &str) -> bool {
        first_field
            .trim_start_matches('\u{feff}')
            .trim()
            .eq_ignore_ascii_case("type")
    }

    /// The index of the column `name`, ignoring ASCII case.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|column| column.eq_ignore_ascii_case(name))
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name_ignoring_case() {
        let header = Header::parse("\u{feff}type, timeLogged ,rcpt,header_Message-Id,rcpt");
        assert_eq!(header.index("type"), Some(0));
        assert_eq!(header.index("timelogged"), Some(1));
        assert_eq!(header.index("rcpt"), Some(2));
        assert_eq!(header.index("header_message-id"), Some(3));
        assert_eq!(header.index("orig"), None);
        assert!(Header::is_header_line("\u{feff}type"));
        assert!(Header::is_header_line("Type"));
        assert!(!Header::is_header_line("d"));
    }

    #[test]
    fn quoted_names_are_read_as_csv() {
        let header = Header::parse("type,\"header_X-Odd,Name\",rcpt");
        assert_eq!(header.columns(), ["type", "header_X-Odd,Name", "rcpt"]);
    }
}
