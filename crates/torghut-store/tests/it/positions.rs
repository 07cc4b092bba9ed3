use chrono::{TimeZone, Utc};
use torghut_store::position::{self, NewPositionSnapshot, PositionError};
use torghut_store::InputError;

use crate::support::{db, policy};

#[tokio::test]
async fn insert_and_latest_by_account() {
    let db = db().await;
    let mut c = db.connect().await;
    let snap = |label: &str, hour: u32, equity: &str| NewPositionSnapshot {
        account_label: label.into(),
        as_of: Utc.with_ymd_and_hms(2026, 2, 10, hour, 0, 0).unwrap(),
        equity: equity.parse().unwrap(),
        cash: "100.00".parse().unwrap(),
        buying_power: "200.00".parse().unwrap(),
        positions: r#"[{"symbol":"AAPL","qty":"1.5"}]"#.into(),
    };
    position::insert(&mut c, &snap("paper", 10, "1000.00"), &policy())
        .await
        .unwrap();
    let newest = position::insert(&mut c, &snap("paper", 12, "1200.00"), &policy())
        .await
        .unwrap();
    position::insert(&mut c, &snap("paper", 11, "1100.00"), &policy())
        .await
        .unwrap();
    position::insert(&mut c, &snap("live", 13, "5.00"), &policy())
        .await
        .unwrap();
    let latest = position::latest(&c, "paper").await.unwrap().unwrap();
    assert_eq!(latest.id, newest);
    assert_eq!(latest.equity.to_string(), "1200.00000000");
    assert_eq!(latest.positions[0]["qty"], "1.5");
    assert!(position::latest(&c, "none").await.unwrap().is_none());

    let mut bad = snap("paper", 9, "1");
    bad.positions = r#"{"a":1,"a":2}"#.into();
    let err = position::insert(&mut c, &bad, &policy()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            PositionError::Input(InputError::Json {
                field: "positions",
                whole_document: false,
                ..
            })
        ),
        "{err:?}"
    );
    bad.positions = "[]".into();
    bad.equity = rust_decimal::Decimal::from(10_000_000_000_000u64);
    let err = position::insert(&mut c, &bad, &policy()).await.unwrap_err();
    assert_eq!(err.field(), Some("equity"));
}
