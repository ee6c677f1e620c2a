//! The always-free tier, shown apart from the estimate and only when asked
//! (`--free-tier`): it is the account's, shared with everything else the
//! account runs, so the estimate itself never counts it.

use serde::Serialize;

use super::prices::FreeTier;
use super::Estimate;

/// What one allowance takes off the estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deduction {
    pub allowance: &'static str,
    /// The free quantity a month, and how much of it the estimate uses.
    pub free: f64,
    pub used: f64,
    pub saved: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub deductions: Vec<Deduction>,
    pub saved: f64,
    /// The estimate's total less what the free tier covers.
    pub total: f64,
    pub source: String,
}

/// Each allowance spent on the lines it covers, in the estimate's order
/// (Logs' 5 GB on ingestion before storage).
pub fn apply(estimate: &Estimate, free: &FreeTier) -> Applied {
    let deductions: Vec<Deduction> = free
        .allowances()
        .into_iter()
        .map(|(allowance, prices, amount)| {
            let mut left = amount;
            let mut saved = 0.0;
            for line in estimate.lines.iter().filter(|l| prices.contains(&l.price)) {
                let taken = line.quantity.min(left);
                left -= taken;
                saved += taken * line.unit_price;
            }
            Deduction {
                allowance,
                free: amount,
                used: amount - left,
                saved,
            }
        })
        .collect();
    let saved = deductions.iter().map(|d| d.saved).sum::<f64>();
    Applied {
        deductions,
        saved,
        total: estimate.total - saved,
        source: free.source.clone(),
    }
}
