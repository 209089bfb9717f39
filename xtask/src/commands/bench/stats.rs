//! The statistics every figure is reported with: the median of its runs with their range, and
//! ratios of runs interleaved in one invocation (A B A B …), so drift on a shared machine hits
//! both sides of a comparison alike.

/// What the report shows of a figure's samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

/// `None` for no samples (or a NaN among them): a figure without runs is skipped, never zero.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    if samples.is_empty() || samples.iter().any(|sample| sample.is_nan()) {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    };
    Some(Summary { median, min: sorted[0], max: sorted[sorted.len() - 1], runs: sorted.len() })
}

/// `numerator[i] / denominator[i]` for each interleaved pair, as percentages: the samples of a
/// ratio figure. Pairs beyond the shorter side, and pairs with a zero denominator, are dropped.
pub fn interleaved_percent(numerator: &[f64], denominator: &[f64]) -> Vec<f64> {
    numerator.iter().zip(denominator).filter(|(_, d)| **d != 0.0).map(|(n, d)| n / d * 100.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_sample_and_of_an_even_count_the_mean_of_two() {
        let odd = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(odd, Summary { median: 2.0, min: 1.0, max: 3.0, runs: 3 });
        let even = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(even, Summary { median: 2.5, min: 1.0, max: 4.0, runs: 4 });
        assert_eq!(summarize(&[7.0]).unwrap(), Summary { median: 7.0, min: 7.0, max: 7.0, runs: 1 });
    }

    #[test]
    fn an_outlier_moves_the_range_but_not_the_median() {
        let summary = summarize(&[100.0, 101.0, 99.0, 5000.0, 100.5]).unwrap();
        assert_eq!(summary.median, 100.5);
        assert_eq!((summary.min, summary.max), (99.0, 5000.0));
    }

    #[test]
    fn no_samples_or_a_nan_give_no_summary() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn interleaved_ratios_pair_runs_in_order() {
        // A machine that slows down halfway: each pair still compares like with like.
        let through_proxy = [900.0, 450.0, 800.0];
        let direct = [1000.0, 500.0, 1000.0];
        let ratios = interleaved_percent(&through_proxy, &direct);
        assert_eq!(ratios, [90.0, 90.0, 80.0]);
        assert_eq!(summarize(&ratios).unwrap().median, 90.0);
        // The medians of each side would have said 800 / 1000 = 80%.
    }

    #[test]
    fn interleaved_ratios_drop_unpaired_runs_and_zero_denominators() {
        assert_eq!(interleaved_percent(&[1.0, 2.0, 3.0], &[2.0, 0.0]), [50.0]);
        assert!(interleaved_percent(&[], &[1.0]).is_empty());
    }
}
