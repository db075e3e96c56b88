//! The results file of `bench hostile`, `docs/results/robustness.json`: for
//! each server and each attack, what the attacker held, what a fresh client
//! saw meanwhile, what the attack cost the server, and whether it was still
//! there and answering afterwards. The robustness page and each chapter's
//! table are made from this alone (by `report`).

use serde::{Deserialize, Serialize};

use crate::capacity::{Counts, Host};

/// `docs/results/robustness.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RobustnessFile {
    pub machine: Host,
    pub settings: Settings,
    pub attacks: Vec<AttackInfo>,
    pub outcomes: Vec<Outcome>,
}

impl RobustnessFile {
    /// The servers, in the order they were measured.
    pub fn servers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for o in &self.outcomes {
            if !names.contains(&o.server.as_str()) {
                names.push(&o.server);
            }
        }
        names
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub quick: bool,
    /// A fresh `GET /` is sent this often during every attack...
    pub probe_every_ms: u64,
    /// ...and counts as unanswered after this long.
    pub probe_patience_ms: u64,
    /// The arguments every server was started with.
    pub server_args: String,
}

/// One attack, as the run made it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttackInfo {
    pub name: String,
    /// What the attacker does, in words.
    pub what: String,
    pub seconds: f64,
}

/// One server under one attack.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub server: String,
    pub attack: String,
    /// The most connections the attacker had open at once.
    pub attacker_connections: u64,
    pub probes: Probes,
    /// The server's tree before the attack, and the most during it.
    pub pss_before_kib: u64,
    pub pss_peak_kib: u64,
    pub threads_peak: u64,
    pub processes_peak: u64,
    /// The tree's CPU time during the attack, as a share of one core.
    pub cpu_pct: f64,
    /// The connection churn attack's own count.
    pub churn: Option<Churn>,
    /// How long a fresh `GET /` took once the attack was over; `None` when
    /// none was answered within the probes' patience.
    pub after_ms: Option<f64>,
    /// How the server ended, if it did not survive the attack.
    pub died: Option<String>,
    pub verdict: Verdict,
    /// The verdict in words, e.g. "38 of 40 fresh requests unanswered".
    pub note: String,
}

/// What the fresh clients saw during an attack, one `GET /` at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Probes {
    pub sent: u64,
    /// Answered 200 within the patience (the latencies are theirs).
    pub answered: u64,
    /// Answered 503 within the patience: told at once that there is no room.
    pub turned_away: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// The churn attack: many clients, each connecting, asking once and
/// closing, over and over.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Churn {
    pub clients: u64,
    /// Requests answered 200.
    pub completed: u64,
    /// Requests answered 503: the server said it had no room.
    pub turned_away: u64,
    /// Everything else, by kind (refused, reset, no answer in time...).
    pub errors: Counts,
    pub p99_ms: Option<f64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Alive, every fresh client answered within the patience, and
    /// answering once the attack was over.
    #[default]
    Survived,
    /// Alive and answering afterwards, but some fresh clients got no answer
    /// in time during the attack: the strategy's design, not a crash.
    Starved,
    /// Dead, or not answering once the attack was over.
    Broke,
}

impl Probes {
    /// Requests that got neither an answer nor a 503 in time.
    pub fn unanswered(&self) -> u64 {
        self.sent - self.answered - self.turned_away
    }
}

impl Outcome {
    /// Judges the outcome from what was measured, and says why in words.
    pub fn judge(&mut self) {
        let (missed, sent, refused) = (
            self.probes.unanswered(),
            self.probes.sent,
            self.probes.turned_away,
        );
        (self.verdict, self.note) = match (&self.died, self.after_ms) {
            (Some(how), _) => (Verdict::Broke, how.clone()),
            (None, None) => (
                Verdict::Broke,
                "no answer to a fresh request once the attack was over".to_string(),
            ),
            _ if missed > 0 => (
                Verdict::Starved,
                format!("{missed} of {sent} fresh requests unanswered in time"),
            ),
            _ if refused > 0 => (
                Verdict::Survived,
                format!("{refused} of {sent} fresh requests turned away with 503"),
            ),
            _ => (Verdict::Survived, String::new()),
        };
    }
}

/// The value at percentile `p` of some numbers (nearest rank), `None` for none.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    Some(values[rank])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(sent: u64, answered: u64, after: Option<f64>, died: Option<&str>) -> Outcome {
        let mut o = Outcome {
            probes: Probes {
                sent,
                answered,
                ..Probes::default()
            },
            after_ms: after,
            died: died.map(str::to_string),
            ..Outcome::default()
        };
        o.judge();
        o
    }

    #[test]
    fn verdicts_follow_what_was_measured() {
        assert_eq!(outcome(40, 40, Some(0.3), None).verdict, Verdict::Survived);
        let mut refusing = outcome(40, 30, Some(0.3), None);
        refusing.probes.turned_away = 10;
        refusing.judge();
        assert_eq!(refusing.verdict, Verdict::Survived);
        assert_eq!(
            refusing.note,
            "10 of 40 fresh requests turned away with 503"
        );
        let starved = outcome(40, 2, Some(0.3), None);
        assert_eq!(starved.verdict, Verdict::Starved);
        assert_eq!(starved.note, "38 of 40 fresh requests unanswered in time");
        assert_eq!(outcome(40, 40, None, None).verdict, Verdict::Broke);
        let died = outcome(40, 40, Some(0.3), Some("killed by signal 6"));
        assert_eq!(
            (died.verdict, died.note.as_str()),
            (Verdict::Broke, "killed by signal 6")
        );
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&mut [], 99.0), None);
    }
}
