//! The `Date` header every response carries (RFC 9110, section 6.6.1).
//!
//! Formatting a date costs more than the rest of a small response, and the
//! value changes once a second, so each thread keeps the current second's
//! text, and the moment (on the monotonic clock the session already reads)
//! at which that second ends. A response compares two `Instant`s; the wall
//! clock is read, and the text formatted, once a second.

use std::cell::RefCell;
use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DATE_LEN: usize = 29; // "Sun, 06 Nov 1994 08:49:37 GMT"

thread_local! {
    /// The `Date` value of the current second, and when that second ends
    /// (`None` before the first response).
    static DATE: RefCell<(Option<Instant>, [u8; DATE_LEN])> =
        const { RefCell::new((None, [0; DATE_LEN])) };
}

/// Calls `f` with the `Date` value, in IMF-fixdate form, for the moment
/// `now`. The text is lent, not copied.
pub fn with<R>(now: Instant, f: impl FnOnce(&[u8]) -> R) -> R {
    DATE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (until, text) = &mut *cell;
        if until.is_none_or(|until| now >= until) {
            let wall = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            *text = http_date(wall.as_secs());
            let rest = Duration::from_secs(1) - Duration::from_nanos(wall.subsec_nanos().into());
            *until = Some(now + rest);
        }
        f(&text[..])
    })
}

/// Formats seconds since 1970 as an IMF-fixdate (RFC 9110, section 5.6.7).
pub fn http_date(unix_seconds: u64) -> [u8; DATE_LEN] {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_seconds / 86_400;
    let secs = unix_seconds % 86_400;
    // Civil date from a day count, after Howard Hinnant's `civil_from_days`.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut text = [0u8; DATE_LEN];
    let _ = write!(
        &mut text[..],
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_imf_fixdate() {
        assert_eq!(&http_date(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&http_date(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&http_date(1_709_164_800), b"Thu, 29 Feb 2024 00:00:00 GMT");
    }
}
