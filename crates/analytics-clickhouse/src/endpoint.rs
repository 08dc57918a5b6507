//! Where the store is: the `analytics` setting's URL.

use std::fmt;

use url::Url;

use crate::ClickHouseError;

/// The database a URL names when it names none.
pub const DEFAULT_DATABASE: &str = "eventhose";

/// A ClickHouse HTTP endpoint, database and credentials, read from a URL such as
/// `http://user:password@host:8123/?database=eventhose` (the form ClickHouse's own HTTP
/// clients take). Shown (`Display`) without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://host:port/`, without credentials or query.
    base: Url,
    database: String,
    user: Option<String>,
    password: Option<String>,
}

impl Endpoint {
    /// Reads an `http` or `https` URL; the database is the `database` query parameter (default
    /// [`DEFAULT_DATABASE`]), a plain identifier so it can be named in SQL unquoted.
    pub fn parse(text: &str) -> Result<Endpoint, ClickHouseError> {
        let invalid = |why: String| ClickHouseError::Endpoint(why);
        let url = Url::parse(text).map_err(|e| invalid(format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the scheme is {:?}: ClickHouse is reached over http or https",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL names no host".into()));
        }
        let mut database = DEFAULT_DATABASE.to_owned();
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "database" => database = value.into_owned(),
                other => {
                    return Err(invalid(format!(
                        "unknown parameter {other:?} (only `database` is read)"
                    )))
                }
            }
        }
        if database.is_empty()
            || database.len() > 64
            || !database
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || database.as_bytes()[0].is_ascii_digit()
        {
            return Err(invalid(format!(
                "the database name {database:?} is not a plain identifier (letters, digits, _)"
            )));
        }
        let decode = |part: &str| {
            url::form_urlencoded::parse(format!("x={part}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let user = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = url.password().map(decode);
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        // Setting credentials on an http(s) URL with a host cannot fail.
        let _ = base.set_username("");
        let _ = base.set_password(None);
        Ok(Endpoint {
            base,
            database,
            user,
            password,
        })
    }

    /// The database the store keeps its tables in.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The endpoint with another database (the tests' own databases).
    pub fn with_database(&self, database: &str) -> Result<Endpoint, ClickHouseError> {
        let mut url = self.base.clone();
        url.query_pairs_mut().append_pair("database", database);
        let mut endpoint = Endpoint::parse(url.as_str())?;
        endpoint.user.clone_from(&self.user);
        endpoint.password.clone_from(&self.password);
        Ok(endpoint)
    }

    /// The server's address (`scheme://host:port/`), without credentials or database.
    pub fn base(&self) -> &Url {
        &self.base
    }

    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.user
            .as_deref()
            .map(|user| (user, self.password.as_deref().unwrap_or("")))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.base.clone();
        if let Some(user) = &self.user {
            let _ = shown.set_username(user);
            if self.password.is_some() {
                let _ = shown.set_password(Some("***"));
            }
        }
        shown
            .query_pairs_mut()
            .append_pair("database", &self.database);
        write!(f, "{shown}")
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_the_base_database_and_credentials() {
        let e =
            Endpoint::parse("http://ops:s%40cret@ch.internal:8123/?database=mail_events").unwrap();
        assert_eq!(e.base().as_str(), "http://ch.internal:8123/");
        assert_eq!(e.database(), "mail_events");
        assert_eq!(e.credentials(), Some(("ops", "s@cret")));
        assert_eq!(
            e.to_string(),
            "http://ops:***@ch.internal:8123/?database=mail_events"
        );
        assert!(!format!("{e:?}").contains("cret"));
    }

    #[test]
    fn defaults_and_refusals() {
        let e = Endpoint::parse("https://localhost:8443").unwrap();
        assert_eq!(e.database(), DEFAULT_DATABASE);
        assert_eq!(e.credentials(), None);
        for bad in [
            "ftp://host/",
            "not a url",
            "http://host/?database=a-b",
            "http://host/?database=1abc",
            "http://host/?database=",
            "http://host/?db=x",
            "http://host/?database=x;DROP",
        ] {
            let error = Endpoint::parse(bad).unwrap_err();
            assert!(matches!(error, ClickHouseError::Endpoint(_)), "{bad}");
        }
        let other = e.with_database("t_1").unwrap();
        assert_eq!(other.database(), "t_1");
        assert_eq!(other.base(), e.base());
    }
}
