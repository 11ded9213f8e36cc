//! The country a time zone belongs to, from the tz database's `zone.tab` (public
//! domain, copied beside this file). It supplies the region for phone numbers typed
//! in national format.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono_tz::Tz;

static ZONE_TAB: &str = include_str!("zone.tab");

/// Zones spread around the globe, so that at any instant a short call falls in
/// calling hours in one of them: the demo and the load harness pick the first
/// that fits.
pub const AROUND_THE_GLOBE: &[&str] = &[
    "America/New_York",
    "Europe/London",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Honolulu",
];

static COUNTRY_BY_ZONE: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    ZONE_TAB
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut columns = line.split('\t');
            let country = columns.next()?;
            let zone = columns.nth(1)?;
            Some((zone, country))
        })
        .collect()
});

static PICKER_ZONES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut zones: Vec<&'static str> = COUNTRY_BY_ZONE.keys().copied().collect();
    zones.push("UTC");
    zones.sort_unstable();
    zones
});

/// Every zone a person can pick from, sorted by name: the tz database's zones tied
/// to a country (`zone.tab`, no legacy aliases) and UTC.
pub fn picker_zones() -> &'static [&'static str] {
    &PICKER_ZONES
}

/// The ISO 3166 country code of `zone` ("US" for America/Chicago), when the zone
/// belongs to one country.
pub fn country_of(zone: Tz) -> Option<&'static str> {
    COUNTRY_BY_ZONE.get(zone.name()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_map_to_their_country() {
        assert_eq!(country_of(chrono_tz::America::Chicago), Some("US"));
        assert_eq!(country_of(chrono_tz::Europe::Dublin), Some("IE"));
        assert_eq!(country_of(chrono_tz::Asia::Kathmandu), Some("NP"));
        assert_eq!(country_of(chrono_tz::UTC), None);
    }

    #[test]
    fn the_picker_offers_sorted_parseable_zones_without_aliases() {
        let zones = picker_zones();
        assert!(zones.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(zones.contains(&"America/New_York") && zones.contains(&"UTC"));
        assert!(!zones.contains(&"US/Eastern"));
        assert!(zones.iter().all(|zone| zone.parse::<Tz>().is_ok()));
    }
}
