//! The entry state machine: the states an entry passes through and the only moves allowed.

use std::fmt;
use std::str::FromStr;

/// Where an entry is in its workflow.
///
/// ```text
/// received → validating → nonce_check → balance_check → processing → completed
///                 ↘            ↘              ↘              ↘
///                                      failed
///                                             ↘ held → captured | voided | expired
/// ```
///
/// A hold's placement ends `held`; the hold's own bookkeeping then takes exactly one of
/// the last three moves, when an entry captures, voids or expires it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryState {
    Received,
    Validating,
    NonceCheck,
    BalanceCheck,
    Processing,
    Completed,
    Failed,
    Held,
    Captured,
    Voided,
    Expired,
}

/// A move the state machine does not allow. Reaching one is a bug in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal entry transition {from} → {to}")]
pub struct IllegalTransition {
    pub from: EntryState,
    pub to: EntryState,
}

impl EntryState {
    pub const ALL: [EntryState; 11] = [
        EntryState::Received,
        EntryState::Validating,
        EntryState::NonceCheck,
        EntryState::BalanceCheck,
        EntryState::Processing,
        EntryState::Completed,
        EntryState::Failed,
        EntryState::Held,
        EntryState::Captured,
        EntryState::Voided,
        EntryState::Expired,
    ];

    /// The one transition function: `to` if the move is legal.
    pub fn transition(self, to: EntryState) -> Result<EntryState, IllegalTransition> {
        use EntryState::*;
        let legal = matches!(
            (self, to),
            (Received, Validating)
                | (Validating, NonceCheck)
                | (NonceCheck, BalanceCheck)
                | (BalanceCheck, Processing)
                | (Processing, Completed)
                | (Validating | NonceCheck | BalanceCheck | Processing, Failed)
                | (BalanceCheck, Held)
                | (Held, Captured | Voided | Expired)
        );
        if legal {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    pub fn is_terminal(self) -> bool {
        use EntryState::*;
        matches!(self, Completed | Failed | Captured | Voided | Expired)
    }

    /// Whether this is where a hold stands: `held`, or how it ended.
    pub fn is_hold_state(self) -> bool {
        use EntryState::*;
        matches!(self, Held | Captured | Voided | Expired)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Received => "received",
            EntryState::Validating => "validating",
            EntryState::NonceCheck => "nonce_check",
            EntryState::BalanceCheck => "balance_check",
            EntryState::Processing => "processing",
            EntryState::Completed => "completed",
            EntryState::Failed => "failed",
            EntryState::Held => "held",
            EntryState::Captured => "captured",
            EntryState::Voided => "voided",
            EntryState::Expired => "expired",
        }
    }
}

impl fmt::Display for EntryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown entry state {s:?}"))
    }
}

/// The transitions one entry has taken, each with its time (µs since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transitions {
    steps: Vec<(EntryState, i64)>,
}

impl Transitions {
    /// Every entry starts `received`.
    pub fn received(at: i64) -> Transitions {
        Transitions {
            steps: vec![(EntryState::Received, at)],
        }
    }

    pub fn current(&self) -> EntryState {
        self.steps.last().map_or(EntryState::Received, |s| s.0)
    }

    /// Moves on to `to`, or refuses an illegal move and records nothing.
    pub fn advance(&mut self, to: EntryState, at: i64) -> Result<(), IllegalTransition> {
        let next = self.current().transition(to)?;
        self.steps.push((next, at));
        Ok(())
    }

    pub fn steps(&self) -> &[(EntryState, i64)] {
        &self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::EntryState::*;
    use super::*;

    #[test]
    fn the_happy_path_is_legal() {
        let mut t = Transitions::received(1);
        for (i, state) in [Validating, NonceCheck, BalanceCheck, Processing, Completed]
            .into_iter()
            .enumerate()
        {
            t.advance(state, 2 + i as i64).unwrap();
        }
        assert_eq!(t.current(), Completed);
        assert_eq!(t.steps().len(), 6);
    }

    #[test]
    fn failed_is_reachable_from_each_checking_state_only() {
        for from in EntryState::ALL {
            let expected = matches!(from, Validating | NonceCheck | BalanceCheck | Processing);
            assert_eq!(from.transition(Failed).is_ok(), expected, "{from} → failed");
        }
    }

    #[test]
    fn every_illegal_move_is_refused() {
        let legal = [
            (Received, Validating),
            (Validating, NonceCheck),
            (NonceCheck, BalanceCheck),
            (BalanceCheck, Processing),
            (Processing, Completed),
            (Validating, Failed),
            (NonceCheck, Failed),
            (BalanceCheck, Failed),
            (Processing, Failed),
            (BalanceCheck, Held),
            (Held, Captured),
            (Held, Voided),
            (Held, Expired),
        ];
        for from in EntryState::ALL {
            for to in EntryState::ALL {
                let ok = from.transition(to).is_ok();
                assert_eq!(ok, legal.contains(&(from, to)), "{from} → {to}");
            }
        }
    }

    #[test]
    fn terminal_states_never_move_and_a_refused_move_records_nothing() {
        let mut t = Transitions::received(1);
        assert_eq!(
            t.advance(Completed, 2),
            Err(IllegalTransition {
                from: Received,
                to: Completed
            })
        );
        assert_eq!(t.steps().len(), 1);
        for state in [Completed, Failed, Captured, Voided, Expired] {
            assert!(state.is_terminal());
            assert!(
                EntryState::ALL
                    .iter()
                    .all(|to| state.transition(*to).is_err())
            );
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in EntryState::ALL {
            assert_eq!(state.as_str().parse::<EntryState>(), Ok(state));
        }
        assert!("done".parse::<EntryState>().is_err());
    }
}
