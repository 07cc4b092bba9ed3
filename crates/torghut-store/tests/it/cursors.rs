use chrono::{TimeZone, Utc};
use torghut_store::cursor::{self, Advanced, CursorError, CursorPosition};
use torghut_store::InputError;

use crate::support::db;

fn pos(sec: u32, seq: Option<i64>, symbol: Option<&str>) -> CursorPosition {
    CursorPosition {
        at: Utc.with_ymd_and_hms(2026, 2, 10, 9, 30, sec).unwrap(),
        seq,
        symbol: symbol.map(str::to_owned),
    }
}

#[tokio::test]
async fn cursor_never_moves_backwards() {
    let db = db().await;
    let mut c = db.connect().await;
    assert!(cursor::get(&c, "alpaca").await.unwrap().is_none());
    let a = pos(1, Some(5), Some("MSFT"));
    assert_eq!(
        cursor::advance(&mut c, "alpaca", &a, false).await.unwrap(),
        Advanced::Created
    );
    // Equal: a successful no-op.
    assert_eq!(
        cursor::advance(&mut c, "alpaca", &a, false).await.unwrap(),
        Advanced::Unchanged
    );
    // Older in each component, NULL below any value.
    for older in [
        pos(0, Some(9), Some("ZZZ")),
        pos(1, Some(4), Some("ZZZ")),
        pos(1, Some(5), Some("AAPL")),
        pos(1, None, Some("ZZZ")),
        pos(1, Some(5), None),
    ] {
        let err = cursor::advance(&mut c, "alpaca", &older, false)
            .await
            .unwrap_err();
        match err {
            CursorError::Backwards {
                current, requested, ..
            } => {
                assert_eq!(current, a);
                assert_eq!(requested, older);
            }
            other => panic!("{other:?}"),
        }
        assert!(older < a);
    }
    assert_eq!(
        cursor::get(&c, "alpaca").await.unwrap().unwrap().position,
        a
    );

    // Newer in each component.
    let mut last = a.clone();
    for newer in [
        pos(1, Some(5), Some("MSFTA")),
        pos(1, Some(6), None),
        pos(2, None, None),
    ] {
        assert!(newer > last);
        assert_eq!(
            cursor::advance(&mut c, "alpaca", &newer, false)
                .await
                .unwrap(),
            Advanced::Moved
        );
        last = newer;
    }
    // Forced back.
    let old = pos(0, None, None);
    assert_eq!(
        cursor::advance(&mut c, "alpaca", &old, true).await.unwrap(),
        Advanced::Moved
    );
    assert_eq!(
        cursor::get(&c, "alpaca").await.unwrap().unwrap().position,
        old
    );
}

#[tokio::test]
async fn concurrent_advances_end_at_the_maximum() {
    let db = db().await;
    let mut handles = Vec::new();
    for i in 0..16u32 {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let mut c = db.connect().await;
            let p = pos(i % 7, Some(i64::from(i)), None);
            match cursor::advance(&mut c, "feed", &p, false).await {
                Ok(_) | Err(CursorError::Backwards { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let c = db.connect().await;
    let max = (0..16u32)
        .map(|i| pos(i % 7, Some(i64::from(i)), None))
        .max()
        .unwrap();
    assert_eq!(
        cursor::get(&c, "feed").await.unwrap().unwrap().position,
        max
    );
}

#[tokio::test]
async fn bad_sources_and_symbols_are_refused() {
    let db = db().await;
    let mut c = db.connect().await;
    // The source names the cursor: refused as a parameter.
    let err = cursor::advance(&mut c, "", &pos(1, None, None), false)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CursorError::Input(InputError::Parameter {
                field: "source",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "cursor field \"source\": must not be empty"
    );
    // The symbol is the position's `cursor_symbol`.
    let long = "S".repeat(33);
    let err = cursor::advance(&mut c, "alpaca", &pos(1, None, Some(&long)), false)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CursorError::Input(InputError::Member {
                field: "symbol",
                known_as: Some("cursor_symbol"),
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "cursor field \"symbol\": 33 characters, at most 32 allowed"
    );
    assert!(cursor::get(&c, "alpaca").await.unwrap().is_none());
}
