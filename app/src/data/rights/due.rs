//! The clocks of a right, as the law counts them, from the day a request is received (UTC).
//!
//! - GDPR (Art. 12(3)): one calendar month, ending on the same date of the next month, or on
//!   that month's last day when it has no such date (received 31 January: due 28 or 29
//!   February). Extendable by two further months from the end of the first (28 April, the
//!   earlier reading), only by a notice sent before the first month ends.
//! - CCPA (regulations §7021): receipt confirmed within 10 business days, answer within 45
//!   calendar days, extendable once by 45 more with notice before the first 45 end.
//! - When both could apply, each date is the earlier of the two.

use time::{Date, Duration, Month, Weekday};

use super::model::Regime;

/// `date` plus `months` calendar months, on the last day of the month when it is shorter.
pub fn add_months(date: Date, months: u8) -> Date {
    let index = date.month() as i32 - 1 + i32::from(months);
    let year = date.year() + index / 12;
    let month = Month::try_from((index % 12 + 1) as u8).unwrap_or(Month::December);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(date)
}

/// `date` plus `days` business days (Monday to Friday).
pub fn add_business_days(date: Date, days: u32) -> Date {
    let mut day = date;
    let mut left = days;
    while left > 0 {
        day += Duration::days(1);
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    day
}

/// A right's dates when it is received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clocks {
    pub due_on: Date,
    /// CCPA only: when the receipt must be confirmed.
    pub confirm_by: Option<Date>,
}

fn earlier(regime: Regime, gdpr: Date, ccpa: Date) -> Date {
    match regime {
        Regime::Gdpr => gdpr,
        Regime::Ccpa => ccpa,
        Regime::Both => gdpr.min(ccpa),
    }
}

pub fn clocks(regime: Regime, received: Date) -> Clocks {
    Clocks {
        due_on: earlier(
            regime,
            add_months(received, 1),
            received + Duration::days(45),
        ),
        confirm_by: regime
            .includes_ccpa()
            .then(|| add_business_days(received, 10)),
    }
}

/// Why a right cannot be extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoExtension {
    /// It was extended already; the law allows one extension.
    AlreadyExtended,
    /// The notice had to be sent by this date (the first period's end).
    TooLate(Date),
}

/// The new due date when a right received on `received` is extended on `today`.
pub fn extension(
    regime: Regime,
    received: Date,
    today: Date,
    already_extended: bool,
) -> Result<Date, NoExtension> {
    if already_extended {
        return Err(NoExtension::AlreadyExtended);
    }
    let first_due = clocks(regime, received).due_on;
    if today > first_due {
        return Err(NoExtension::TooLate(first_due));
    }
    Ok(earlier(
        regime,
        add_months(add_months(received, 1), 2),
        received + Duration::days(90),
    ))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_gdpr_month_ends_on_the_same_date_or_the_months_last_day() {
        assert_eq!(add_months(date!(2027 - 01 - 31), 1), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2028 - 01 - 31), 1), date!(2028 - 02 - 29));
        assert_eq!(add_months(date!(2027 - 03 - 15), 1), date!(2027 - 04 - 15));
        assert_eq!(add_months(date!(2027 - 12 - 10), 1), date!(2028 - 01 - 10));
        assert_eq!(add_months(date!(2027 - 11 - 30), 3), date!(2028 - 02 - 29));
    }

    #[test]
    fn ccpa_counts_business_days_for_the_confirmation_and_calendar_days_for_the_answer() {
        // Friday 1 January 2027: ten business days later is Friday 15 January.
        let received = date!(2027 - 01 - 01);
        let ccpa = clocks(Regime::Ccpa, received);
        assert_eq!(ccpa.confirm_by, Some(date!(2027 - 01 - 15)));
        assert_eq!(ccpa.due_on, date!(2027 - 02 - 15));
        // Received on a Saturday, the count starts on Monday.
        assert_eq!(
            add_business_days(date!(2027 - 01 - 02), 10),
            date!(2027 - 01 - 15)
        );
        assert_eq!(clocks(Regime::Gdpr, received).confirm_by, None);
    }

    #[test]
    fn when_both_apply_the_earlier_date_wins() {
        let received = date!(2027 - 01 - 31);
        assert_eq!(clocks(Regime::Both, received).due_on, date!(2027 - 02 - 28));
        // Extended: two more GDPR months from 28 February (28 April) against 90 days (1 May).
        assert_eq!(
            extension(Regime::Both, received, date!(2027 - 02 - 10), false),
            Ok(date!(2027 - 04 - 28))
        );
        assert_eq!(
            extension(Regime::Ccpa, received, date!(2027 - 02 - 10), false),
            Ok(date!(2027 - 05 - 01))
        );
    }

    #[test]
    fn an_extension_needs_its_notice_inside_the_first_period_and_comes_once() {
        let received = date!(2027 - 03 - 10);
        assert_eq!(
            extension(Regime::Gdpr, received, date!(2027 - 04 - 10), false),
            Ok(date!(2027 - 06 - 10))
        );
        assert_eq!(
            extension(Regime::Gdpr, received, date!(2027 - 04 - 11), false),
            Err(NoExtension::TooLate(date!(2027 - 04 - 10)))
        );
        assert_eq!(
            extension(Regime::Gdpr, received, date!(2027 - 03 - 20), true),
            Err(NoExtension::AlreadyExtended)
        );
    }
}
