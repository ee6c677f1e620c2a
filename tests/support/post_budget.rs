//! Rule 8, on demand: API Gateway's account-wide throttle. Every
//! PostToConnection counts against the account's request rate (10,000 a
//! second, burst 5,000, shared by every API); past it AWS answers 429
//! `LimitExceededException`. The emulator never throttles, so a test that
//! wants to see the fan-out back off sets a small budget
//! (`Emulator::limit_posts`) and this token bucket answers as AWS would.
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>

use std::sync::Mutex;
use std::time::Instant;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::http::request::Parts;
use hyper::{Method, Response};

/// A token bucket: `per_second` tokens a second, at most `burst` saved.
#[derive(Debug)]
pub struct PostBudget {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl PostBudget {
    pub fn new(per_second: f64, burst: f64) -> PostBudget {
        PostBudget {
            per_second,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let earned = now.duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A PostToConnection over the budget answers 429 `LimitExceededException`.
pub fn account_throttle(
    budget: &Mutex<Option<PostBudget>>,
    parts: &Parts,
) -> Option<Response<Full<Bytes>>> {
    let posting = parts.method == Method::POST && parts.uri.path().contains("/@connections/");
    if !posting {
        return None;
    }
    let mut budget = budget.lock().unwrap_or_else(|e| e.into_inner());
    let over = budget.as_mut().is_some_and(|b| !b.take());
    over.then(|| {
        super::aws_rules::aws_error(
            "execute-api",
            429,
            "LimitExceededException",
            "Rate exceeded",
        )
    })
}
