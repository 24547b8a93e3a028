//! Queues: the classes of background work a worker can be told to take.
//!
//! The names are ours (`adhoc`, `scheduled`, `notifications`, `maintenance`, `schemas`); Redash's
//! queue names are accepted as aliases so a Redash worker's `QUEUES` list keeps its meaning.
//! A name is stored and logged as [`Queue::as_str`]; never persist an alias.

use std::fmt;
use std::str::FromStr;

/// A class of background work, each with its own workers, limits and timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Queue {
    /// Queries a person is waiting for (the editor, "Refresh" on a dashboard).
    Adhoc,
    /// Refreshes started by a query's schedule.
    Scheduled,
    /// Alert e-mails and destination deliveries.
    Notifications,
    /// Cleanup and other periodic housekeeping.
    Maintenance,
    /// Data-source schema refreshes.
    Schemas,
}

impl Queue {
    /// Every queue, in a stable order; what "all" means.
    pub const ALL: [Queue; 5] =
        [Queue::Adhoc, Queue::Scheduled, Queue::Notifications, Queue::Maintenance, Queue::Schemas];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Adhoc => "adhoc",
            Queue::Scheduled => "scheduled",
            Queue::Notifications => "notifications",
            Queue::Maintenance => "maintenance",
            Queue::Schemas => "schemas",
        }
    }

    /// Parses a comma-separated list (`adhoc,emails`), or `all`. Aliases map to our names,
    /// duplicates collapse, and the result keeps [`Queue::ALL`]'s order. An empty list is an error.
    pub fn parse_list(text: &str) -> Result<Vec<Queue>, UnknownQueue> {
        let mut chosen: Vec<Queue> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            if item.eq_ignore_ascii_case("all") {
                chosen.extend(Queue::ALL);
            } else {
                chosen.push(item.parse()?);
            }
        }
        if chosen.is_empty() {
            return Err(UnknownQueue { name: text.trim().to_owned() });
        }
        chosen.sort();
        chosen.dedup();
        Ok(chosen)
    }
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A queue name that is neither ours nor one of Redash's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown queue {name:?}: use adhoc, scheduled, notifications, maintenance, schemas \
     (or Redash's queries, scheduled_queries, emails, periodic, default)"
)]
pub struct UnknownQueue {
    pub name: String,
}

impl FromStr for Queue {
    type Err = UnknownQueue;

    fn from_str(name: &str) -> Result<Queue, UnknownQueue> {
        let queue = match name.trim().to_ascii_lowercase().as_str() {
            "adhoc" | "queries" => Queue::Adhoc,
            "scheduled" | "scheduled_queries" => Queue::Scheduled,
            "notifications" | "emails" => Queue::Notifications,
            // Redash compat: RQ's `periodic` and `default` queues carry its housekeeping jobs.
            "maintenance" | "periodic" | "default" => Queue::Maintenance,
            "schemas" => Queue::Schemas,
            _ => return Err(UnknownQueue { name: name.trim().to_owned() }),
        };
        Ok(queue)
    }
}

#[cfg(test)]
mod tests {
    use super::Queue;

    fn check(input: &str, expected: &[Queue]) {
        assert_eq!(Queue::parse_list(input).as_deref(), Ok(expected), "input {input:?}");
    }

    #[test]
    fn names_and_redash_aliases_parse() {
        check("adhoc", &[Queue::Adhoc]);
        check("queries,scheduled_queries", &[Queue::Adhoc, Queue::Scheduled]);
        check("emails", &[Queue::Notifications]);
        check("periodic, default", &[Queue::Maintenance]);
        check("SCHEMAS,adhoc", &[Queue::Adhoc, Queue::Schemas]);
        check("all", &Queue::ALL);
        check("adhoc,all", &Queue::ALL);
    }

    #[test]
    fn unknown_and_empty_lists_are_errors() {
        assert!(Queue::parse_list("adhoc,celery").is_err());
        assert!(Queue::parse_list("").is_err());
        assert!(Queue::parse_list(" , ").is_err());
    }

    #[test]
    fn canonical_names_round_trip() {
        for queue in Queue::ALL {
            assert_eq!(queue.as_str().parse::<Queue>(), Ok(queue));
        }
    }
}
