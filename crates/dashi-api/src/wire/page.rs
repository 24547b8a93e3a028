//! Redash's pagination: `page` and `page_size` in, `{count, page, page_size, results}` out.

use dashi_store::{Page, PageRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;

/// The paging parameters of a list request. Strings, so that a bad value is our 400, not a
/// deserializer's.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageParams {
    pub page: Option<String>,
    pub page_size: Option<String>,
}

impl PageParams {
    /// Validates with Redash's messages.
    pub(crate) fn request(&self) -> Result<PageRequest, ApiError> {
        let page = match self.page.as_deref() {
            None | Some("") => 1,
            Some(raw) => raw.parse::<i64>().map_err(|_| ApiError::bad_request("Page must be positive integer."))?,
        };
        if page < 1 {
            return Err(ApiError::bad_request("Page must be positive integer."));
        }
        let page_size = match self.page_size.as_deref() {
            None | Some("") => 25,
            Some(raw) => raw.parse::<i64>().map_err(|_| ApiError::bad_request("Page size is out of range (1-250)."))?,
        };
        if !(1..=250).contains(&page_size) {
            return Err(ApiError::bad_request("Page size is out of range (1-250)."));
        }
        Ok(PageRequest { page, page_size })
    }
}

/// The envelope, or Redash's 400 when the page lies beyond the data.
pub(crate) fn paginated<T>(page: Page<T>, to_json: impl Fn(&T) -> Value) -> Result<Value, ApiError> {
    if page.count > 0 && (page.page - 1) * page.page_size >= page.count {
        return Err(ApiError::bad_request("Page is out of range."));
    }
    let results: Vec<Value> = page.items.iter().map(to_json).collect();
    Ok(json!({"count": page.count, "page": page.page, "page_size": page.page_size, "results": results}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(page: Option<&str>, page_size: Option<&str>, expected: Result<(i64, i64), &str>) {
        let params = PageParams { page: page.map(str::to_owned), page_size: page_size.map(str::to_owned) };
        match (params.request(), expected) {
            (Ok(request), Ok((page, size))) => assert_eq!((request.page, request.page_size), (page, size)),
            (Err(error), Err(message)) => assert_eq!(error.message(), message),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn page_parameters_follow_redash() {
        check(None, None, Ok((1, 25)));
        check(Some("3"), Some("250"), Ok((3, 250)));
        check(Some("0"), None, Err("Page must be positive integer."));
        check(Some("x"), None, Err("Page must be positive integer."));
        check(None, Some("251"), Err("Page size is out of range (1-250)."));
        check(None, Some("0"), Err("Page size is out of range (1-250)."));
    }

    #[test]
    fn page_beyond_the_data_is_refused() {
        let page = Page { count: 3, page: 2, page_size: 3, items: vec![1, 2, 3] };
        assert_eq!(paginated(page, |n| json!(n)).unwrap_err().message(), "Page is out of range.");
        let empty: Page<i64> = Page { count: 0, page: 5, page_size: 3, items: vec![] };
        assert_eq!(paginated(empty, |n| json!(n)).unwrap()["results"], json!([]));
    }
}
