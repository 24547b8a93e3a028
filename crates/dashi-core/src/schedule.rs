//! Schedules: the `queries.schedule` object, checked when it is written, and when a scheduled
//! query is next due.
//!
//! Redash's shape is `{interval, time, day_of_week, until, disabled}`, all in UTC: every
//! `interval` seconds after the last run, or, with `time`, at that time of day every
//! `interval / 86400` days, on `day_of_week` for weekly intervals, until the start of the
//! `until` date; after failures the next run waits `2^failures` minutes longer. We add cron
//! expressions with a time zone in the same object (`{"cron": "0 8 * * 1-5", "timezone":
//! "Europe/Berlin"}`), which Redash lacks (Redash #1357).
//!
//! Redash finds a malformed schedule only when its scheduler trips over it and then disables it
//! silently (Redash #7788). Here [`Schedule::from_json`] rejects it on write, and the due-time
//! calculation is a pure function of the last run, `now` and the failure count: it reads no
//! clock and cannot fail.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde_json::{Map, Value};

/// A query's schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub repeat: Repeat,
    /// No run is due from the start of this day (UTC) on.
    pub until: Option<NaiveDate>,
    /// Kept but never due.
    pub disabled: bool,
}

/// How often a scheduled query runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Repeat {
    /// Every `seconds` after the last run.
    Every { seconds: u64 },
    /// Every `days` days at `time` (UTC, hour and minute), on `day_of_week` when given (then
    /// `days` is a multiple of 7).
    Daily {
        days: u64,
        time: NaiveTime,
        day_of_week: Option<Weekday>,
    },
    /// A cron expression read in a time zone.
    Cron(Box<CronRepeat>),
}

/// A parsed cron expression with the zone its times are meant in.
#[derive(Debug, Clone, PartialEq)]
pub struct CronRepeat {
    expression: String,
    timezone: Tz,
    cron: croner::Cron,
}

impl CronRepeat {
    /// Parses a five- or six-field cron expression (seconds optional; `L`, `W`, `#` allowed)
    /// to be read in `timezone`, an IANA zone name.
    pub fn new(expression: &str, timezone: &str) -> Result<CronRepeat, ScheduleError> {
        let cron = expression
            .parse::<croner::Cron>()
            .map_err(|error| invalid("cron", error.to_string()))?;
        let timezone = timezone
            .parse::<Tz>()
            .map_err(|_| invalid("timezone", format!("{timezone:?} is not an IANA time zone")))?;
        Ok(CronRepeat {
            expression: expression.trim().to_owned(),
            timezone,
            cron,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first time the expression matches strictly after `after`.
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        Some(next.with_timezone(&Utc))
    }
}

/// A schedule object that cannot be accepted. The message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule.{field}: {reason}")]
pub struct ScheduleError {
    pub field: &'static str,
    pub reason: String,
}

impl crate::Classify for ScheduleError {
    fn fault(&self) -> crate::Fault {
        crate::Fault::Invalid
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ScheduleError {
    ScheduleError {
        field,
        reason: reason.into(),
    }
}

const SECONDS_PER_DAY: u64 = 86_400;
const WEEKDAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl Schedule {
    /// Reads a `schedule` value as clients send it and the database stores it. `null`, or an
    /// object whose every value is null, is no schedule (`Ok(None)`), as in Redash. Any
    /// malformed field, or fields that contradict each other, is an error.
    pub fn from_json(value: &Value) -> Result<Option<Schedule>, ScheduleError> {
        let object = match value {
            Value::Null => return Ok(None),
            Value::Object(object) => object,
            _ => return Err(invalid("", "must be an object or null")),
        };
        if object.values().all(Value::is_null) {
            return Ok(None);
        }
        let interval = parse_interval(object.get("interval"))?;
        let time = parse_optional(object, "time", parse_time)?;
        let day_of_week = parse_optional(object, "day_of_week", parse_weekday)?;
        let until = parse_optional(object, "until", |text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| "must be a YYYY-MM-DD date".into())
        })?;
        let disabled = match object.get("disabled") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err(invalid("disabled", "must be true or false")),
        };
        let cron = parse_optional(object, "cron", |text| Ok(text.to_owned()))?;
        let timezone = parse_optional(object, "timezone", |text| Ok(text.to_owned()))?;

        let repeat = match (cron, interval) {
            (Some(_), Some(_)) => {
                return Err(invalid("cron", "cannot be combined with an interval"));
            }
            (Some(expression), None) => {
                if time.is_some() || day_of_week.is_some() {
                    return Err(invalid(
                        "cron",
                        "cannot be combined with time or day_of_week",
                    ));
                }
                Repeat::Cron(Box::new(CronRepeat::new(
                    &expression,
                    timezone.as_deref().unwrap_or("UTC"),
                )?))
            }
            (None, None) => {
                return Err(invalid(
                    "interval",
                    "a schedule needs an interval or a cron expression",
                ));
            }
            (None, Some(seconds)) => {
                if timezone.is_some() {
                    return Err(invalid(
                        "timezone",
                        "only applies to cron schedules (times are UTC)",
                    ));
                }
                match time {
                    None if day_of_week.is_some() => {
                        return Err(invalid("day_of_week", "needs a time"));
                    }
                    None => Repeat::Every { seconds },
                    Some(time) => {
                        if !seconds.is_multiple_of(SECONDS_PER_DAY) {
                            return Err(invalid(
                                "time",
                                "needs an interval of whole days (86400 seconds each)",
                            ));
                        }
                        let days = seconds / SECONDS_PER_DAY;
                        if day_of_week.is_some() && !days.is_multiple_of(7) {
                            return Err(invalid(
                                "day_of_week",
                                "needs an interval of whole weeks (604800 seconds each)",
                            ));
                        }
                        Repeat::Daily {
                            days,
                            time,
                            day_of_week,
                        }
                    }
                }
            }
        };
        Ok(Some(Schedule {
            repeat,
            until,
            disabled,
        }))
    }

    /// The stored and wire shape: Redash's four keys always present, `disabled` only when set,
    /// and `cron` / `timezone` for cron schedules.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        let (interval, time, day_of_week) = match &self.repeat {
            Repeat::Every { seconds } => (Value::from(*seconds), Value::Null, Value::Null),
            Repeat::Daily {
                days,
                time,
                day_of_week,
            } => (
                Value::from(days * SECONDS_PER_DAY),
                Value::from(time.format("%H:%M").to_string()),
                day_of_week.map_or(Value::Null, |day| {
                    Value::from(WEEKDAY_NAMES[day.num_days_from_monday() as usize])
                }),
            ),
            Repeat::Cron(_) => (Value::Null, Value::Null, Value::Null),
        };
        object.insert("interval".to_owned(), interval);
        object.insert("time".to_owned(), time);
        object.insert("day_of_week".to_owned(), day_of_week);
        object.insert(
            "until".to_owned(),
            self.until.map_or(Value::Null, |until| {
                Value::from(until.format("%Y-%m-%d").to_string())
            }),
        );
        if let Repeat::Cron(cron) = &self.repeat {
            object.insert("cron".to_owned(), Value::from(cron.expression.clone()));
            object.insert("timezone".to_owned(), Value::from(cron.timezone.name()));
        }
        if self.disabled {
            object.insert("disabled".to_owned(), Value::Bool(true));
        }
        Value::Object(object)
    }

    /// When the run after `last_run` is due, `failures` consecutive failed runs included
    /// (each doubles an extra wait, starting at two minutes). `None` means never: the back-off
    /// overflowed past year 9999, as Redash gives up there, or a cron expression has no later
    /// match. Ignores `disabled` and `until`; see [`Schedule::is_due`].
    pub fn next_run(&self, last_run: DateTime<Utc>, failures: u32) -> Option<DateTime<Utc>> {
        let next = match &self.repeat {
            Repeat::Every { seconds } => {
                last_run.checked_add_signed(Duration::seconds(i64::try_from(*seconds).ok()?))?
            }
            Repeat::Daily {
                days,
                time,
                day_of_week,
            } => next_daily(last_run, *days, *time, *day_of_week)?,
            Repeat::Cron(cron) => cron.next_after(last_run)?,
        };
        delayed_by_failures(next, failures)
    }

    /// When a newly written schedule is first due: at once for interval and daily schedules
    /// (Redash runs a query it has no record of running straight away), at the next match for
    /// cron expressions, whose user asked for exact times.
    pub fn first_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.repeat {
            Repeat::Cron(cron) => cron.next_after(now),
            Repeat::Every { .. } | Repeat::Daily { .. } => Some(now),
        }
    }

    /// Whether a run is due at `now`: never when disabled or from the start of `until` on;
    /// at once when the query never ran (`last_run` None); otherwise once `now` is strictly
    /// past [`Schedule::next_run`].
    pub fn is_due(
        &self,
        last_run: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        failures: u32,
    ) -> bool {
        if self.disabled {
            return false;
        }
        if let Some(until) = self.until
            && Utc.from_utc_datetime(&until.and_time(NaiveTime::MIN)) <= now
        {
            return false;
        }
        match last_run {
            None => true,
            Some(last_run) => self
                .next_run(last_run, failures)
                .is_some_and(|next| now > next),
        }
    }
}

/// `next` pushed back after `failures` consecutive failed runs: `2^failures` minutes, as Redash.
/// `None` when that overflows or passes year 9999 (never due again).
pub fn delayed_by_failures(next: DateTime<Utc>, failures: u32) -> Option<DateTime<Utc>> {
    let next = if failures == 0 {
        next
    } else {
        let minutes = 1_i64.checked_shl(failures).filter(|minutes| *minutes > 0)?;
        next.checked_add_signed(Duration::try_minutes(minutes)?)?
    };
    (next.year() <= 9999).then_some(next)
}

/// Redash's calculation for schedules with a time of day: take the last run with its hour and
/// minute replaced by `time`; if that is later than the last run, count from a day before it;
/// add the interval (and, weekly, the days to the wanted weekday); set hour and minute to `time`.
/// Seconds are kept from the last run, as Redash does.
fn next_daily(
    last_run: DateTime<Utc>,
    days: u64,
    time: NaiveTime,
    day_of_week: Option<Weekday>,
) -> Option<DateTime<Utc>> {
    let with_time =
        |moment: DateTime<Utc>| moment.with_hour(time.hour())?.with_minute(time.minute());
    let normalized = with_time(last_run)?;
    let previous = if normalized > last_run {
        normalized - Duration::days(1)
    } else {
        last_run
    };
    // Redash compat, fixed: Redash takes the weekday from `normalized` even after stepping a day
    // back, so a weekly query last run earlier in the day than its time (a manual run) lands a day
    // early, on the wrong weekday. We take it from the day actually counted from.
    let days_to_weekday = day_of_week.map_or(0, |day| {
        i64::from(day.num_days_from_monday()) - i64::from(previous.weekday().num_days_from_monday())
    });
    let days = i64::try_from(days).ok()?.checked_add(days_to_weekday)?;
    with_time(previous.checked_add_signed(Duration::try_days(days)?)?)
}

fn parse_interval(value: Option<&Value>) -> Result<Option<u64>, ScheduleError> {
    let seconds = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|seconds| seconds.fract() == 0.0 && *seconds >= 0.0)
                .map(|seconds| seconds as u64)
        }),
        // Redash compat: older clients sent the interval as a string of digits.
        Some(Value::String(text)) => text.trim().parse().ok(),
        Some(_) => None,
    };
    match seconds {
        Some(seconds) if seconds > 0 && i64::try_from(seconds).is_ok() => Ok(Some(seconds)),
        _ => Err(invalid(
            "interval",
            "must be a positive whole number of seconds",
        )),
    }
}

fn parse_optional<T>(
    object: &Map<String, Value>,
    field: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ScheduleError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => parse(text)
            .map(Some)
            .map_err(|reason| invalid(field, reason)),
        Some(_) => Err(invalid(field, "must be a string or null")),
    }
}

fn parse_time(text: &str) -> Result<NaiveTime, String> {
    let error = || "must be HH:MM (UTC)".to_owned();
    let (hour, minute) = text.split_once(':').ok_or_else(error)?;
    let is_number =
        |part: &str| (1..=2).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    if !is_number(hour) || !is_number(minute) {
        return Err(error());
    }
    let hour = hour.parse().map_err(|_| error())?;
    let minute = minute.parse().map_err(|_| error())?;
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(error)
}

fn parse_weekday(text: &str) -> Result<Weekday, String> {
    WEEKDAY_NAMES
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text.trim()))
        .map(|index| Weekday::try_from(index as u8).expect("index of a weekday name"))
        .ok_or_else(|| "must be a weekday name, Monday to Sunday".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test time parses")
            .with_timezone(&Utc)
    }

    fn schedule(value: Value) -> Schedule {
        Schedule::from_json(&value)
            .expect("schedule is valid")
            .expect("schedule is set")
    }

    fn check_next(value: Value, last_run: &str, failures: u32, expected: Option<&str>) {
        let next = schedule(value.clone()).next_run(at(last_run), failures);
        assert_eq!(next, expected.map(at), "schedule {value} after {last_run}");
    }

    fn check_rejected(value: Value, field: &str) {
        let error = Schedule::from_json(&value).expect_err("schedule is rejected");
        assert_eq!(error.field, field, "schedule {value}: {error}");
    }

    #[test]
    fn no_schedule() {
        assert_eq!(Schedule::from_json(&Value::Null), Ok(None));
        let all_null = json!({"interval": null, "time": null, "day_of_week": null, "until": null});
        assert_eq!(Schedule::from_json(&all_null), Ok(None));
    }

    #[test]
    fn malformed_schedules_are_rejected_on_write() {
        check_rejected(json!("3600"), "");
        check_rejected(json!({"interval": -5}), "interval");
        check_rejected(json!({"interval": 0}), "interval");
        check_rejected(json!({"interval": 1.5}), "interval");
        check_rejected(json!({"interval": "soon"}), "interval");
        check_rejected(json!({"interval": null, "until": "2030-01-01"}), "interval");
        check_rejected(json!({"interval": 86400, "time": "25:00"}), "time");
        check_rejected(json!({"interval": 86400, "time": "08:00:00"}), "time");
        check_rejected(json!({"interval": 86400, "time": 800}), "time");
        check_rejected(json!({"interval": 3600, "time": "08:00"}), "time");
        check_rejected(json!({"interval": 90000, "time": "08:00"}), "time");
        check_rejected(
            json!({"interval": 604800, "day_of_week": "Monday"}),
            "day_of_week",
        );
        check_rejected(
            json!({"interval": 86400, "time": "08:00", "day_of_week": "Monday"}),
            "day_of_week",
        );
        check_rejected(
            json!({"interval": 604800, "time": "08:00", "day_of_week": "Funday"}),
            "day_of_week",
        );
        check_rejected(json!({"interval": 60, "until": "31/12/2030"}), "until");
        check_rejected(json!({"interval": 60, "disabled": "yes"}), "disabled");
        check_rejected(json!({"cron": "61 * * * *"}), "cron");
        check_rejected(
            json!({"cron": "0 8 * * *", "timezone": "Mars/Olympus"}),
            "timezone",
        );
        check_rejected(json!({"cron": "0 8 * * *", "interval": 60}), "cron");
        check_rejected(json!({"cron": "0 8 * * *", "time": "08:00"}), "cron");
        check_rejected(
            json!({"interval": 60, "timezone": "Europe/Berlin"}),
            "timezone",
        );
    }

    #[test]
    fn schedules_round_trip_in_redash_shape() {
        for value in [
            json!({"interval": 3600, "time": null, "day_of_week": null, "until": null}),
            json!({"interval": 86400, "time": "08:05", "day_of_week": null, "until": "2030-06-01"}),
            json!({"interval": 1209600, "time": "23:59", "day_of_week": "Friday", "until": null,
                   "disabled": true}),
            json!({"interval": null, "time": null, "day_of_week": null, "until": null,
                   "cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}),
        ] {
            assert_eq!(schedule(value.clone()).to_json(), value);
        }
        let lenient =
            schedule(json!({"interval": "600", "time": null, "day_of_week": null, "until": null}));
        assert_eq!(lenient.repeat, Repeat::Every { seconds: 600 });
        let weekly = schedule(json!({"interval": 604800, "time": "8:00", "day_of_week": "monday"}));
        assert_eq!(weekly.to_json()["day_of_week"], "Monday");
        assert_eq!(weekly.to_json()["time"], "08:00");
    }

    #[test]
    fn interval_schedules_count_from_the_last_run() {
        check_next(
            json!({"interval": 3600}),
            "2024-03-13T10:15:30Z",
            0,
            Some("2024-03-13T11:15:30Z"),
        );
        check_next(
            json!({"interval": 60}),
            "2024-03-13T10:15:30Z",
            3,
            Some("2024-03-13T10:24:30Z"),
        );
    }

    #[test]
    fn daily_schedules_land_on_their_time_keeping_seconds() {
        let daily = json!({"interval": 86400, "time": "08:00"});
        check_next(
            daily.clone(),
            "2024-03-13T08:00:07Z",
            0,
            Some("2024-03-14T08:00:07Z"),
        );
        check_next(
            daily.clone(),
            "2024-03-13T07:59:00Z",
            0,
            Some("2024-03-13T08:00:00Z"),
        );
        check_next(
            daily.clone(),
            "2024-03-13T23:30:00Z",
            0,
            Some("2024-03-14T08:00:00Z"),
        );
        let late = json!({"interval": 86400, "time": "23:59"});
        check_next(
            late,
            "2024-03-12T23:59:01Z",
            0,
            Some("2024-03-13T23:59:01Z"),
        );
        check_next(
            json!({"interval": 259200, "time": "06:30"}),
            "2024-03-13T06:30:00Z",
            0,
            Some("2024-03-16T06:30:00Z"),
        );
    }

    #[test]
    fn weekly_schedules_land_on_their_weekday() {
        // 2024-03-13 is a Wednesday.
        let weekly = json!({"interval": 604800, "time": "08:00", "day_of_week": "Monday"});
        check_next(
            weekly.clone(),
            "2024-03-11T08:00:02Z",
            0,
            Some("2024-03-18T08:00:02Z"),
        );
        check_next(
            weekly.clone(),
            "2024-03-13T12:00:00Z",
            0,
            Some("2024-03-18T08:00:00Z"),
        );
        // A manual run on a Monday before 08:00, for a Sunday schedule: Redash would pick the
        // Saturday; the fixed calculation picks the Sunday.
        let sunday = json!({"interval": 604800, "time": "08:00", "day_of_week": "Sunday"});
        check_next(
            sunday,
            "2024-03-11T07:00:00Z",
            0,
            Some("2024-03-17T08:00:00Z"),
        );
    }

    #[test]
    fn failures_back_off_until_never() {
        let hourly = json!({"interval": 3600});
        check_next(
            hourly.clone(),
            "2024-03-13T10:00:00Z",
            1,
            Some("2024-03-13T11:02:00Z"),
        );
        check_next(
            hourly.clone(),
            "2024-03-13T10:00:00Z",
            10,
            Some("2024-03-14T04:04:00Z"),
        );
        check_next(hourly.clone(), "2024-03-13T10:00:00Z", 40, None);
        check_next(hourly, "2024-03-13T10:00:00Z", 200, None);
    }

    #[test]
    fn cron_schedules_follow_their_time_zone() {
        let berlin = json!({"cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"});
        // Friday 2024-03-29 after 08:00 in Berlin (CET, +1): next is Monday 2024-04-01 at 08:00
        // CEST (+2), across the switch to summer time.
        check_next(
            berlin.clone(),
            "2024-03-29T07:30:00Z",
            0,
            Some("2024-04-01T06:00:00Z"),
        );
        check_next(
            berlin,
            "2024-03-28T06:00:00Z",
            0,
            Some("2024-03-28T07:00:00Z"),
        );
        check_next(
            json!({"cron": "*/15 * * * *"}),
            "2024-03-13T10:15:00Z",
            0,
            Some("2024-03-13T10:30:00Z"),
        );
    }

    #[test]
    fn due_respects_disabled_until_and_first_run() {
        let hourly = schedule(json!({"interval": 3600, "until": "2024-03-14"}));
        let last = at("2024-03-13T10:00:00Z");
        assert!(hourly.is_due(None, at("2024-03-13T10:00:00Z"), 0));
        assert!(!hourly.is_due(Some(last), at("2024-03-13T11:00:00Z"), 0));
        assert!(hourly.is_due(Some(last), at("2024-03-13T11:00:01Z"), 0));
        assert!(!hourly.is_due(Some(last), at("2024-03-14T00:00:00Z"), 0));
        assert!(!hourly.is_due(None, at("2024-03-14T00:00:00Z"), 0));
        let disabled = schedule(json!({"interval": 3600, "disabled": true}));
        assert!(!disabled.is_due(None, at("2024-03-13T10:00:00Z"), 0));
    }

    fn repeating(repeat: Repeat) -> Schedule {
        Schedule {
            repeat,
            until: None,
            disabled: false,
        }
    }

    fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
        // 2000-01-01 .. 2100-01-01, to the microsecond.
        (946_684_800_i64..4_102_444_800, 0_u32..1_000_000).prop_map(|(seconds, micros)| {
            Utc.timestamp_opt(seconds, micros * 1000)
                .single()
                .expect("in range")
        })
    }

    fn any_weekday() -> impl Strategy<Value = Weekday> {
        (0_u8..7).prop_map(|index| Weekday::try_from(index).expect("0..7 is a weekday"))
    }

    proptest! {
        #[test]
        fn next_run_is_after_the_last_run(
            last in any_time(),
            seconds in 1_u64..5_000_000,
            days in 1_u64..60,
            hour in 0_u32..24,
            minute in 0_u32..60,
            failures in 0_u32..12,
        ) {
            let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
            let daily = Repeat::Daily { days, time, day_of_week: None };
            for repeat in [Repeat::Every { seconds }, daily] {
                let next = repeating(repeat).next_run(last, failures).expect("no overflow yet");
                prop_assert!(next > last);
            }
        }

        #[test]
        fn daily_runs_land_on_their_hour_and_minute(
            last in any_time(), days in 1_u64..60, hour in 0_u32..24, minute in 0_u32..60,
        ) {
            let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
            let daily = repeating(Repeat::Daily { days, time, day_of_week: None });
            let next = daily.next_run(last, 0).unwrap();
            let days = i64::try_from(days).unwrap();
            prop_assert_eq!((next.hour(), next.minute()), (hour, minute));
            prop_assert!(next - last <= Duration::days(days));
            prop_assert!(next - last > Duration::days(days - 1));
        }

        #[test]
        fn weekly_runs_land_on_their_weekday(
            last in any_time(),
            weeks in 1_u64..5,
            day in any_weekday(),
            hour in 0_u32..24,
            minute in 0_u32..60,
        ) {
            let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
            let repeat = Repeat::Daily { days: weeks * 7, time, day_of_week: Some(day) };
            let next = repeating(repeat).next_run(last, 0).unwrap();
            prop_assert!(next > last);
            prop_assert_eq!(next.weekday(), day);
            prop_assert_eq!((next.hour(), next.minute()), (hour, minute));
        }

        #[test]
        fn nothing_is_due_from_until_on(
            last in proptest::option::of(any_time()), now in any_time(), seconds in 1_u64..100_000,
        ) {
            let until = now.date_naive() - Duration::days(i64::from(now.second() % 3));
            let schedule = Schedule { until: Some(until), ..repeating(Repeat::Every { seconds }) };
            prop_assert!(!schedule.is_due(last, now, 0));
        }

        #[test]
        fn cron_runs_are_after_the_last_run_and_match(
            last in any_time(), minute in 0_u32..60, hour in 0_u32..24,
        ) {
            let expression = format!("{minute} {hour} * * *");
            let cron = CronRepeat::new(&expression, "America/New_York").unwrap();
            let next = repeating(Repeat::Cron(Box::new(cron))).next_run(last, 0).unwrap();
            prop_assert!(next > last);
            prop_assert!(next - last <= Duration::hours(49));
            let local = next.with_timezone(&chrono_tz::America::New_York);
            prop_assert_eq!(local.minute(), minute);
        }
    }
}
