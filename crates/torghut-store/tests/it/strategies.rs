use torghut_store::strategy::{self, NewStrategy, StrategyError};
use torghut_store::InputError;

use crate::support::{db, policy, strategy as make_strategy};

#[tokio::test]
async fn create_get_list_enable_disable() {
    let db = db().await;
    let mut c = db.connect().await;
    let id = make_strategy(&mut c).await;
    let s = strategy::get(&c, id).await.unwrap().unwrap();
    assert_eq!(s.name, "macd");
    assert!(s.enabled);
    assert_eq!(
        s.universe_symbols,
        Some(serde_json::json!(["AAPL", "MSFT"]))
    );
    assert_eq!(strategy::list(&c).await.unwrap().len(), 1);

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let d = strategy::disable(&mut c, id).await.unwrap();
    assert!(!d.enabled);
    assert!(d.updated_at > s.updated_at);
    let e = strategy::enable(&mut c, id).await.unwrap();
    assert!(e.enabled);
    assert!(e.updated_at >= d.updated_at);

    let missing = uuid::Uuid::now_v7();
    assert!(matches!(
        strategy::disable(&mut c, missing).await,
        Err(StrategyError::NotFound { id }) if id == missing
    ));
    assert!(strategy::get(&c, missing).await.unwrap().is_none());
}

#[tokio::test]
async fn bad_fields_are_named() {
    let db = db().await;
    let mut c = db.connect().await;
    let new = NewStrategy {
        name: "x".repeat(256),
        description: None,
        enabled: true,
        base_timeframe: "1Min".into(),
        universe_type: "static".into(),
        universe_symbols: None,
        max_position_pct_equity: None,
        max_notional_per_trade: None,
    };
    let err = strategy::create(&mut c, &new, &policy()).await.unwrap_err();
    assert_eq!(err.field(), Some("name"));
    let new = NewStrategy {
        name: "ok".into(),
        universe_symbols: Some(r#"["A", "\u0000"]"#.into()),
        ..new
    };
    let err = strategy::create(&mut c, &new, &policy()).await.unwrap_err();
    match err {
        StrategyError::Input(InputError::Json {
            field,
            source,
            whole_document,
            ..
        }) => {
            assert_eq!(field, "universe_symbols");
            assert!(!whole_document);
            assert_eq!(source.path, "$[1]");
        }
        other => panic!("{other:?}"),
    }
    assert!(strategy::list(&c).await.unwrap().is_empty());
}
