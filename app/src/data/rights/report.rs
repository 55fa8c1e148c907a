//! The public yearly report of rights requests (promise P15, in the manner of the CCPA
//! regulations §7102): per right and year, how many were received, done, partly done and
//! refused, and the median days to answer, computed from every region's rows and naming no one.

use std::collections::BTreeMap;

use super::{model::{ReportRow, Right}, service::RightsError, store};
use crate::platform::{db, regions::Regions};

/// The median of `days` (sorted here), None when empty.
pub fn median(days: &mut [i32]) -> Option<f64> {
    if days.is_empty() {
        return None;
    }
    days.sort_unstable();
    let middle = days.len() / 2;
    Some(if days.len().is_multiple_of(2) {
        f64::from(days[middle - 1] + days[middle]) / 2.0
    } else {
        f64::from(days[middle])
    })
}

/// The report, newest year first, rights in the form's order.
pub async fn report(regions: &Regions) -> Result<Vec<ReportRow>, RightsError> {
    let mut counted: BTreeMap<(i32, usize), (ReportRow, Vec<i32>)> = BTreeMap::new();
    for pool in regions.databases() {
        let mut tx = db::begin_public(pool).await?;
        let rows = store::report(&mut tx).await?;
        tx.commit().await?;
        for (right, year, status, days) in rows {
            let Some(right) = Right::parse(&right) else {
                continue;
            };
            let order = Right::ALL.iter().position(|r| *r == right).unwrap_or(0);
            let (row, answered) = counted.entry((-year, order)).or_insert_with(|| {
                (
                    ReportRow {
                        right,
                        year,
                        received: 0,
                        done: 0,
                        partly_done: 0,
                        refused: 0,
                        median_days: None,
                    },
                    Vec::new(),
                )
            });
            row.received += 1;
            match status.as_str() {
                "done" => row.done += 1,
                "partly_done" => row.partly_done += 1,
                "refused" => row.refused += 1,
                _ => {}
            }
            answered.extend(days);
        }
    }
    Ok(counted
        .into_values()
        .map(|(mut row, mut days)| {
            row.median_days = median(&mut days);
            row
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [9, 1, 5]), Some(5.0));
        assert_eq!(median(&mut [4, 1, 3, 10]), Some(3.5));
    }
}
