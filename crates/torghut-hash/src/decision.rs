//! Validation of a decision, as the old service's pydantic model (`extra="allow"`, lax mode)
//! validates the object that `json.loads` returns, and the hashed object built from it.

use std::collections::BTreeMap;

use crate::canonical::write_value;
use crate::datetime::{DateTimeError, PyDateTime};
use crate::decimal::{DecimalError, PyDecimal};
use crate::error::{quote, HashError};
use crate::float_repr::write_json_float;
use crate::json::{self, Value};
use crate::pystr::PyStr;

const ACTIONS: &[&str] = &["buy", "sell"];
const ORDER_TYPES: &[&str] = &["market", "limit", "stop", "stop_limit"];
const TIMES_IN_FORCE: &[&str] = &["day", "gtc", "ioc", "fok"];

/// The hashed fields of a decision, as the hash wrote them (strings that are not valid UTF-8,
/// i.e. hold a lone surrogate, are `None`): for a store that keeps them exactly as hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedFields {
    pub strategy_id: Option<String>,
    pub symbol: Option<String>,
    /// `datetime.isoformat()` of the decision's time.
    pub event_ts: String,
    pub timeframe: Option<String>,
    pub action: String,
    /// `str(Decimal)` of the quantity.
    pub qty: String,
    pub order_type: String,
    pub time_in_force: String,
    pub limit_price: Option<String>,
    pub stop_price: Option<String>,
}

/// The exact text that is hashed for the decision given as JSON `text`.
pub(crate) fn canonical_text(text: &str) -> Result<String, HashError> {
    canonical(text).map(|(text, _)| text)
}

/// The hashed text and the hashed fields of the decision given as JSON `text`.
pub(crate) fn canonical(text: &str) -> Result<(String, HashedFields), HashError> {
    let document = json::parse(text)?;
    let Value::Object(mut members) = document else {
        return Err(HashError::NotAnObject {
            found: document.type_name(),
        });
    };
    if let Some(name) = members.keys().find(|k| k.as_str().is_none()) {
        return Err(HashError::MemberName { name: quote(name) });
    }
    let mut take = |name: &str| members.remove(&PyStr::from(name));

    // Fields in the model's order, so that the first problem reported is the first one the
    // model reports.
    let strategy_id = canonical_strategy_id(string_field("strategy_id", take("strategy_id"))?);
    let symbol = string_field("symbol", take("symbol"))?;
    let event_ts = event_ts_field(take("event_ts"))?;
    let timeframe = string_field("timeframe", take("timeframe"))?;
    let action = choice_field("action", take("action"), ACTIONS, None)?;
    let qty = decimal_field("qty", take("qty"))?.ok_or_else(|| missing("qty"))?;
    let order_type = choice_field(
        "order_type",
        take("order_type"),
        ORDER_TYPES,
        Some("market"),
    )?;
    let time_in_force = choice_field(
        "time_in_force",
        take("time_in_force"),
        TIMES_IN_FORCE,
        Some("day"),
    )?;
    let limit_price = decimal_field("limit_price", take("limit_price"))?;
    let stop_price = decimal_field("stop_price", take("stop_price"))?;
    match take("rationale") {
        None | Some(Value::Null | Value::Str(_)) => {}
        Some(other) => {
            return Err(HashError::field_error(
                "rationale",
                format!("expected a string or null, found {}", other.type_name()),
            ))
        }
    }
    let params = match take("params") {
        None => Value::Object(BTreeMap::new()),
        Some(params @ Value::Object(_)) => params,
        Some(other) => {
            return Err(HashError::field_error(
                "params",
                format!("expected an object, found {}", other.type_name()),
            ))
        }
    };

    let fields = HashedFields {
        strategy_id: strategy_id.as_str().map(str::to_owned),
        symbol: symbol.as_str().map(str::to_owned),
        event_ts: event_ts.to_string(),
        timeframe: timeframe.as_str().map(str::to_owned),
        action: action.to_owned(),
        qty: qty.to_string(),
        order_type: order_type.to_owned(),
        time_in_force: time_in_force.to_owned(),
        limit_price: limit_price.as_ref().map(ToString::to_string),
        stop_price: stop_price.as_ref().map(ToString::to_string),
    };
    let text_value = |s: String| Value::Str(PyStr::from(s.as_str()));
    let decimal_value = |d: Option<PyDecimal>| d.map_or(Value::Null, |d| text_value(d.to_string()));
    let hashed: BTreeMap<PyStr, Value> = [
        ("strategy_id", Value::Str(strategy_id)),
        ("symbol", Value::Str(symbol)),
        ("event_ts", text_value(event_ts.to_string())),
        ("timeframe", Value::Str(timeframe)),
        ("action", text_value(action.to_owned())),
        ("qty", text_value(qty.to_string())),
        ("order_type", text_value(order_type.to_owned())),
        ("time_in_force", text_value(time_in_force.to_owned())),
        ("limit_price", decimal_value(limit_price)),
        ("stop_price", decimal_value(stop_price)),
        ("params", params),
    ]
    .into_iter()
    .map(|(k, v)| (PyStr::from(k), v))
    .collect();
    let mut out = String::new();
    write_value(&mut out, &Value::Object(hashed));
    Ok((out, fields))
}

fn missing(field: &'static str) -> HashError {
    HashError::field_error(field, "required but missing")
}

/// A required `str` field.
/// The original service hashes its strategy's id as Python's `str(uuid.UUID)` writes it:
/// lower-case and hyphenated. Any other spelling of a UUID (upper case, braces, `urn:uuid:`, no
/// hyphens) names the same strategy, so it is hashed in that form: one decision, one hash.
/// Anything else is hashed as given.
fn canonical_strategy_id(s: PyStr) -> PyStr {
    match s.as_str().map(uuid::Uuid::try_parse) {
        Some(Ok(u)) => {
            let mut c = PyStr::new();
            c.push_str(&u.hyphenated().to_string());
            c
        }
        _ => s,
    }
}

fn string_field(field: &'static str, value: Option<Value>) -> Result<PyStr, HashError> {
    match value {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(HashError::field_error(
            field,
            format!("expected a string, found {}", other.type_name()),
        )),
        None => Err(missing(field)),
    }
}

/// A `Literal[...]` field, with its default when absent.
fn choice_field(
    field: &'static str,
    value: Option<Value>,
    choices: &'static [&'static str],
    default: Option<&'static str>,
) -> Result<&'static str, HashError> {
    let found = match value {
        None => return default.ok_or_else(|| missing(field)),
        Some(Value::Str(s)) => match choices.iter().find(|c| s.is(c)) {
            Some(choice) => return Ok(choice),
            None => quote(&s),
        },
        Some(other) => other.type_name().to_owned(),
    };
    let expected = choices
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Err(HashError::field_error(
        field,
        format!("expected one of {expected}, found {found}"),
    ))
}

/// A `Decimal` field; `Ok(None)` when absent or null.
fn decimal_field(
    field: &'static str,
    value: Option<Value>,
) -> Result<Option<PyDecimal>, HashError> {
    let result = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Int(digits)) => return Ok(Some(PyDecimal::from_int_text(&digits))),
        Some(Value::Float(x)) => PyDecimal::from_float(x).map_err(|e| (e, float_text(x))),
        Some(Value::Str(s)) => PyDecimal::parse(&s).map_err(|e| (e, quote(&s))),
        Some(other) => {
            return Err(HashError::field_error(
                field,
                format!(
                    "expected a decimal as a string or number, found {}",
                    other.type_name()
                ),
            ))
        }
    };
    match result {
        Ok(d) => Ok(Some(d)),
        Err((DecimalError::Invalid, shown)) => Err(HashError::field_error(
            field,
            format!("not a decimal: {shown}"),
        )),
        Err((DecimalError::NotFinite, shown)) => Err(HashError::field_error(
            field,
            format!("not a finite decimal: {shown}"),
        )),
    }
}

/// The `event_ts` field.
fn event_ts_field(value: Option<Value>) -> Result<PyDateTime, HashError> {
    const FIELD: &str = "event_ts";
    let result = match value {
        None => return Err(missing(FIELD)),
        Some(Value::Str(s)) => PyDateTime::from_text(&s).map_err(|e| (e, quote(&s))),
        Some(Value::Int(digits)) => {
            PyDateTime::from_int_text(&digits).map_err(|e| (e, digits.clone()))
        }
        Some(Value::Float(x)) => PyDateTime::from_float(x).map_err(|e| (e, float_text(x))),
        Some(other) => {
            return Err(HashError::field_error(
                FIELD,
                format!(
                    "expected a date-time string or a unix timestamp, found {}",
                    other.type_name()
                ),
            ))
        }
    };
    result.map_err(|(e, shown)| {
        let message = match e {
            DateTimeError::Invalid => format!("not a date-time: {shown}"),
            DateTimeError::OutOfRange => {
                format!("date-time out of range (years 1 to 9999): {shown}")
            }
        };
        HashError::field_error(FIELD, message)
    })
}

/// A float as it appears in JSON, for error messages.
fn float_text(x: f64) -> String {
    let mut s = String::new();
    write_json_float(&mut s, x);
    s
}
