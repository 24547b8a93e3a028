//! Pages of a list, and the portable building of list statements with run-time filters.
//!
//! List endpoints filter, search and sort by what the caller asks, so their SQL is assembled
//! at run time. Every value still travels as a bound parameter: [`ListSql::bind`] hands back
//! the `$N` placeholder for a value, and only fixed fragments from this crate are spliced.

/// One page of results plus the total count, Redash's pagination envelope in domain terms.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub count: i64,
    pub page: i64,
    pub page_size: i64,
    pub items: Vec<T>,
}

/// Which page of a list to return (1-based, as Redash).
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub page_size: i64,
}

impl PageRequest {
    pub(crate) fn offset(self) -> i64 {
        (self.page - 1) * self.page_size
    }
}

/// A value bound into a run-time assembled statement.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
    Time(chrono::DateTime<chrono::Utc>),
}

/// The WHERE clause of a list statement with its values, in placeholder order.
#[derive(Debug, Default)]
pub(crate) struct ListSql {
    conditions: Vec<String>,
    pub(crate) values: Vec<Value>,
}

impl ListSql {
    /// Registers a value and returns its placeholder (`$1`, `$2`, …).
    pub(crate) fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Adds a condition; it may use placeholders obtained from [`ListSql::bind`].
    pub(crate) fn and(&mut self, condition: String) {
        self.conditions.push(condition);
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// Binds [`Value`]s onto a `query_as`, for any dialect.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                $crate::page::Value::Int(v) => query.bind(*v),
                $crate::page::Value::Text(v) => query.bind(v.clone()),
                $crate::page::Value::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}
pub(crate) use bind_values;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order() {
        let mut sql = ListSql::default();
        let first = sql.bind(Value::Int(1));
        let second = sql.bind(Value::Text("x".into()));
        sql.and(format!("a = {first}"));
        sql.and(format!("b = {second}"));
        assert_eq!(sql.where_clause(), " WHERE a = $1 AND b = $2");
        assert_eq!(PageRequest { page: 3, page_size: 25 }.offset(), 50);
    }
}
