//! Devices, mail clients and places engagement events come from.

use super::providers::PixelFetcher;

/// Where an engagement request came from.
#[derive(Debug)]
pub(crate) struct Place {
    pub(crate) country: &'static str,
    pub(crate) region: &'static str,
    pub(crate) city: &'static str,
    pub(crate) latitude: f64,
    pub(crate) longitude: f64,
    pub(crate) zip: u32,
    /// `/16` prefix of residential addresses there.
    pub(crate) ip_block: [u8; 2],
}

const fn place(
    country: &'static str,
    region: &'static str,
    city: &'static str,
    latitude: f64,
    longitude: f64,
    zip: u32,
    ip_block: [u8; 2],
) -> Place {
    Place {
        country,
        region,
        city,
        latitude,
        longitude,
        zip,
        ip_block,
    }
}

/// A place's index in [`PLACES`], as messages store it.
// PLACES holds 20 entries: the cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn place_index(index: usize) -> u8 {
    index as u8
}

/// Recipient locations.
pub(crate) static PLACES: [Place; 20] = [
    place("US", "IL", "Chicago", 41.8781, -87.6298, 60601, [73, 208]),
    place("US", "NY", "New York", 40.7128, -74.006, 10001, [72, 229]),
    place(
        "US",
        "CA",
        "Los Angeles",
        34.0522,
        -118.2437,
        90012,
        [76, 91],
    ),
    place("US", "TX", "Austin", 30.2672, -97.7431, 78701, [70, 112]),
    place("US", "WA", "Seattle", 47.6062, -122.3321, 98101, [73, 97]),
    place("US", "FL", "Miami", 25.7617, -80.1918, 33101, [98, 211]),
    place("US", "MD", "Columbia", 39.1749, -76.8375, 21046, [96, 255]),
    place("US", "GA", "Atlanta", 33.749, -84.388, 30303, [73, 43]),
    place("CA", "ON", "Toronto", 43.6532, -79.3832, 0, [99, 230]),
    place("GB", "ENG", "London", 51.5072, -0.1276, 0, [86, 128]),
    place("GB", "ENG", "Manchester", 53.4808, -2.2426, 0, [81, 102]),
    place("DE", "BE", "Berlin", 52.52, 13.405, 10115, [91, 64]),
    place("DE", "BY", "Munich", 48.1351, 11.582, 80331, [79, 215]),
    place("FR", "IDF", "Paris", 48.8566, 2.3522, 75001, [90, 62]),
    place("IT", "LOM", "Milan", 45.4642, 9.19, 20121, [93, 45]),
    place("ES", "MD", "Madrid", 40.4168, -3.7038, 28001, [83, 33]),
    place("NL", "NH", "Amsterdam", 52.3676, 4.9041, 1012, [84, 241]),
    place("BR", "SP", "Sao Paulo", -23.5505, -46.6333, 0, [177, 32]),
    place("AU", "NSW", "Sydney", -33.8688, 151.2093, 2000, [101, 160]),
    place("JP", "13", "Tokyo", 35.6762, 139.6503, 0, [126, 11]),
];

/// Where Google's image proxy fetches pixels from.
pub(crate) static GOOGLE_PROXY_PLACE: Place = place(
    "US",
    "CA",
    "Mountain View",
    37.4056,
    -122.0775,
    94043,
    [66, 249],
);
/// Where Yahoo's image proxy fetches pixels from.
pub(crate) static YAHOO_PROXY_PLACE: Place =
    place("US", "VA", "Ashburn", 39.0438, -77.4874, 20147, [98, 137]);
/// Where Apple's privacy relay fetches pixels from.
pub(crate) static APPLE_PROXY_PLACE: Place =
    place("US", "CA", "Cupertino", 37.323, -122.0322, 95014, [17, 58]);

/// User agents of recipients' own devices.
pub(crate) static DEVICE_AGENTS: [&str; 10] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
];

/// User agent of Google's image proxy.
pub(crate) const GOOGLE_PROXY_AGENT: &str =
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
/// User agent of Yahoo's image proxy.
pub(crate) const YAHOO_PROXY_AGENT: &str =
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html";
/// User agent of Apple Mail Privacy Protection fetches.
pub(crate) const APPLE_PROXY_AGENT: &str = "Mozilla/5.0";

/// The user agent and place a pixel fetch by `fetcher` reports, or `None` for the device itself.
pub(crate) fn proxy_for(fetcher: PixelFetcher) -> Option<(&'static str, &'static Place)> {
    match fetcher {
        PixelFetcher::Device => None,
        PixelFetcher::GoogleProxy => Some((GOOGLE_PROXY_AGENT, &GOOGLE_PROXY_PLACE)),
        PixelFetcher::YahooProxy => Some((YAHOO_PROXY_AGENT, &YAHOO_PROXY_PLACE)),
        PixelFetcher::ApplePrivacy => Some((APPLE_PROXY_AGENT, &APPLE_PROXY_PLACE)),
    }
}
