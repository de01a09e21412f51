//! Property tests of the domain's value objects and order entity: every public parser and
//! constructor answers `Ok` or `Err` for any input (never a panic), and valid values round-trip
//! through their text forms.
//!
//! The seed is fixed so that CI runs the same cases every time; `PROPTEST_RNG_SEED=<n>` explores
//! others and `PROPTEST_CASES=<n>` runs more. A failure found here is written to
//! `proptest-regressions/properties.txt` and replayed first on every later run: commit it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

use domain::{
    CustomerId, Fingerprint, IdError, ItemId, LineItem, Money, MoneyError, Order, OrderId,
    OrderTimestamp, Password, Scope, Scopes, TimestampError, Username,
};
use proptest::prelude::*;

const MAX_ITEM_CENTS: i64 = 100_000_000_000;
const MIN_TIMESTAMP_MS: u64 = 946_684_800_000;
const MAX_TIMESTAMP_MS: u64 = 4_102_444_800_000;

fn config(cases: u32) -> ProptestConfig {
    testkit::proptest_config::config(
        cases,
        0x0D0E_0A11,
        Some("proptest-regressions/properties.txt"),
    )
}

/// Text that looks like a JSON number, including the awkward corners (exponents, signs, long
/// digit runs, leading dots), so that the decimal parser's branches all get exercised.
fn number_like() -> impl Strategy<Value = String> {
    "[-+]?[0-9]{0,40}(\\.[0-9]{0,40})?([eE][-+]?[0-9]{1,12})?"
}

/// Any string, weighted towards short ones near the id and number alphabets.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        "[0-9a-zA-Z\\-.eE+\\u{0}\\u{7f}\\u{85}é日]{0,70}",
        number_like(),
    ]
}

fn valid_id() -> impl Strategy<Value = String> {
    // Any script, 1 to 64 characters, no control or format character, not blank: exactly what
    // ids accept.
    "[^\\p{Cc}\\p{Cf}\\s][^\\p{Cc}\\p{Cf}]{0,63}"
}

fn cents() -> impl Strategy<Value = i64> {
    prop_oneof![0..=MAX_ITEM_CENTS, 0i64..1000, Just(MAX_ITEM_CENTS)]
}

fn millis() -> impl Strategy<Value = u64> {
    MIN_TIMESTAMP_MS..MAX_TIMESTAMP_MS
}

fn item() -> impl Strategy<Value = LineItem> {
    ("[a-z0-9]{1,8}", cents()).prop_map(|(id, cents)| {
        LineItem::new(
            ItemId::parse(id).unwrap(),
            Money::from_cents(cents).unwrap(),
        )
    })
}

fn order() -> impl Strategy<Value = Order> {
    (
        "[a-z0-9]{1,8}",
        "[a-z0-9]{1,8}",
        millis(),
        prop::collection::vec(item(), 1..8),
    )
        .prop_map(|(order_id, customer, ts, items)| {
            Order::new(
                OrderId::parse(order_id).unwrap(),
                CustomerId::parse(customer).unwrap(),
                OrderTimestamp::from_millis(ts).unwrap(),
                items,
                1000,
            )
            .unwrap()
        })
}

/// What the id rules say about `raw`, written independently of the parser.
fn expected_id_verdict(raw: &str) -> Result<(), IdError> {
    let chars: Vec<char> = raw.chars().collect();
    if chars.is_empty() {
        Err(IdError::Empty)
    } else if chars.len() > 64 {
        Err(IdError::TooLong {
            length: chars.len(),
        })
    } else if let Some(position) = chars.iter().position(|c| c.is_control()) {
        Err(IdError::ControlCharacter {
            code: u32::from(chars[position]),
            position,
        })
    } else {
        Ok(())
    }
}

/// The same order with one thing about it changed; `None` when the change is not possible.
fn changed(order: &Order, what: u8) -> Option<Order> {
    let mut order_id = order.order_id().clone();
    let mut customer = order.customer_id().clone();
    let mut timestamp = order.timestamp();
    let mut items = order.items().to_vec();
    match what % 7 {
        0 => order_id = OrderId::parse(format!("{order_id}x")).unwrap(),
        1 => customer = CustomerId::parse(format!("{customer}x")).unwrap(),
        2 => {
            timestamp = OrderTimestamp::from_millis(timestamp.millis() + 1)
                .or_else(|| OrderTimestamp::from_millis(timestamp.millis() - 1))?;
        }
        3 => {
            let first = &items[0];
            let cost = if first.cost().cents() > 0 {
                first.cost().cents() - 1
            } else {
                1
            };
            items[0] = LineItem::new(first.item_id().clone(), Money::from_cents(cost)?);
        }
        4 => {
            let first = &items[0];
            let id = ItemId::parse(format!("{}x", first.item_id())).unwrap();
            items[0] = LineItem::new(id, first.cost());
        }
        5 => items.push(items[0].clone()),
        _ => {
            // Swapping two identical items changes nothing; skip those.
            let last = items.len() - 1;
            if items[0] == items[last] {
                return None;
            }
            items.swap(0, last);
        }
    }
    Some(Order::new(order_id, customer, timestamp, items, 1000).unwrap())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn ids_accept_exactly_what_the_rules_say_and_keep_it_verbatim(raw in any_text()) {
        let expected = expected_id_verdict(&raw);
        let customer = CustomerId::parse(raw.clone());
        let order = OrderId::parse(raw.as_str());
        let item = ItemId::parse(raw.clone());
        prop_assert_eq!(customer.clone().err(), expected.clone().err());
        prop_assert_eq!(order.clone().err(), expected.clone().err());
        prop_assert_eq!(item.clone().err(), expected.err());
        if let (Ok(customer), Ok(order), Ok(item)) = (customer, order, item) {
            prop_assert_eq!(customer.as_str(), raw.as_str());
            prop_assert_eq!(order.to_string(), raw.clone());
            prop_assert_eq!(item.into_string(), raw);
        }
    }

    #[test]
    fn valid_ids_round_trip(raw in valid_id()) {
        let id = OrderId::parse(raw.clone()).unwrap();
        prop_assert_eq!(OrderId::parse(id.to_string()).unwrap(), id);
    }

    #[test]
    fn money_parsing_never_panics_and_stays_in_range(text in any_text()) {
        if let Ok(money) = Money::parse_decimal(&text) {
            prop_assert!((0..=MAX_ITEM_CENTS).contains(&money.cents()), "{text} -> {money:?}");
            // Whatever notation was accepted, its shortest form parses back to the same cents.
            prop_assert_eq!(Money::parse_decimal(&money.to_decimal_string()), Ok(money));
        }
        prop_assert_eq!(text.parse::<Money>(), Money::parse_decimal(&text));
    }

    #[test]
    fn money_round_trips_through_its_decimal_string(cents in cents()) {
        let money = Money::from_cents(cents).unwrap();
        let text = money.to_decimal_string();
        prop_assert_eq!(Money::parse_decimal(&text).map(Money::cents), Ok(cents), "{}", text);
        prop_assert_eq!(money.to_string(), text);
    }

    #[test]
    fn money_reads_the_same_cents_in_every_notation(cents in cents(), zeros in 0usize..6) {
        let whole = cents / 100;
        let fraction = cents % 100;
        let padding = "0".repeat(zeros);
        for text in [
            format!("{whole}.{fraction:02}{padding}"),
            format!("{cents}e-2"),
            format!("{cents}E-2"),
            format!("{whole}.{fraction:02}e0"),
            format!("0{whole}.{fraction:02}"),
        ] {
            prop_assert_eq!(Money::parse_decimal(&text).map(Money::cents), Ok(cents), "{}", text);
        }
        if fraction == 0 {
            prop_assert_eq!(Money::parse_decimal(&whole.to_string()).map(Money::cents), Ok(cents));
        }
    }

    #[test]
    fn money_refuses_negatives_fractions_of_cents_and_amounts_over_the_maximum(
        cents in 1..=MAX_ITEM_CENTS,
        extra in 1u8..10,
        over in 1i64..1_000_000_000,
    ) {
        let whole = cents / 100;
        let fraction = cents % 100;
        let negative = format!("-{whole}.{fraction:02}");
        prop_assert!(
            matches!(Money::parse_decimal(&negative), Err(MoneyError::Negative { .. })),
            "{}", negative
        );
        let too_precise = format!("{whole}.{fraction:02}{extra}");
        prop_assert!(
            matches!(Money::parse_decimal(&too_precise), Err(MoneyError::TooPrecise { .. })),
            "{}", too_precise
        );
        let too_large = format!("{}e-2", MAX_ITEM_CENTS + over);
        prop_assert!(
            matches!(Money::parse_decimal(&too_large), Err(MoneyError::TooLarge { .. })),
            "{}", too_large
        );
    }

    #[test]
    fn money_from_any_cents_and_sums_never_panic(a in any::<i64>(), b in any::<i64>()) {
        prop_assert_eq!(Money::from_cents(a).map(Money::cents), (a >= 0).then_some(a));
        if let (Some(a), Some(b)) = (Money::from_cents(a), Money::from_cents(b)) {
            prop_assert_eq!(
                a.checked_add(b).map(Money::cents),
                a.cents().checked_add(b.cents())
            );
        }
    }

    #[test]
    fn timestamps_accept_exactly_plausible_digit_strings(text in prop_oneof![
        any_text(),
        "[0-9]{0,25}",
        millis().prop_map(|m| m.to_string()),
    ]) {
        let parsed = OrderTimestamp::parse_digits(&text);
        let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        match (&parsed, digits_only) {
            (Ok(ts), true) => {
                prop_assert_eq!(Ok(ts.millis()), text.parse::<u64>());
                prop_assert!((MIN_TIMESTAMP_MS..MAX_TIMESTAMP_MS).contains(&ts.millis()));
            }
            (Err(TimestampError::OutOfRange { .. }), true) => {
                let in_range = text
                    .parse::<u64>()
                    .is_ok_and(|m| (MIN_TIMESTAMP_MS..MAX_TIMESTAMP_MS).contains(&m));
                prop_assert!(!in_range, "{}", text);
            }
            (Err(TimestampError::NotDigits { .. }), false) => {}
            other => prop_assert!(false, "{:?} for {:?}", other, text),
        }
    }

    #[test]
    fn timestamps_round_trip_through_their_digits(millis in any::<u64>()) {
        match OrderTimestamp::from_millis(millis) {
            Some(ts) => prop_assert_eq!(OrderTimestamp::parse_digits(&millis.to_string()), Ok(ts)),
            None => prop_assert!(!(MIN_TIMESTAMP_MS..MAX_TIMESTAMP_MS).contains(&millis)),
        }
    }

    #[test]
    fn orders_accept_one_to_max_items_and_sum_them_exactly(
        items in prop::collection::vec(
            ("[a-z]{1,3}", prop_oneof![cents(), (i64::MAX / 2)..=i64::MAX]),
            0..12,
        ),
        max_items in 0usize..12,
    ) {
        let items: Vec<LineItem> = items
            .into_iter()
            .map(|(id, cents)| LineItem::new(ItemId::parse(id).unwrap(), Money::from_cents(cents).unwrap()))
            .collect();
        let total = items
            .iter()
            .try_fold(0i64, |sum, item| sum.checked_add(item.cost().cents()));
        let result = Order::new(
            OrderId::parse("o").unwrap(),
            CustomerId::parse("c").unwrap(),
            OrderTimestamp::from_millis(MIN_TIMESTAMP_MS).unwrap(),
            items.clone(),
            max_items,
        );
        let valid = !items.is_empty() && items.len() <= max_items && total.is_some();
        prop_assert_eq!(result.is_ok(), valid, "{:?}", result);
        if let Ok(order) = result {
            prop_assert_eq!(Some(order.total().cents()), total);
            prop_assert_eq!(order.items(), items.as_slice());
        }
    }

    #[test]
    fn fingerprints_are_stable_for_equal_orders_and_change_with_content(
        order in order(),
        what in any::<u8>(),
    ) {
        let rebuilt = Order::new(
            OrderId::parse(order.order_id().as_str()).unwrap(),
            CustomerId::parse(order.customer_id().as_str()).unwrap(),
            OrderTimestamp::parse_digits(&order.timestamp().millis().to_string()).unwrap(),
            order
                .items()
                .iter()
                .map(|i| LineItem::new(
                    ItemId::parse(i.item_id().as_str()).unwrap(),
                    Money::parse_decimal(&i.cost().to_decimal_string()).unwrap(),
                ))
                .collect(),
            1000,
        )
        .unwrap();
        prop_assert_eq!(rebuilt.fingerprint(), order.fingerprint());
        let hex = order.fingerprint().to_hex();
        prop_assert_eq!(Fingerprint::from_hex(&hex), Some(order.fingerprint()));
        if let Some(other) = changed(&order, what) {
            prop_assert_ne!(&other, &order);
            prop_assert_ne!(other.fingerprint(), order.fingerprint());
        }
    }

    #[test]
    fn fingerprint_hex_parsing_never_panics(text in prop_oneof![
        any_text(),
        "[0-9a-fA-F+\\-é]{60,68}",
    ]) {
        if let Some(fingerprint) = Fingerprint::from_hex(&text) {
            prop_assert_eq!(fingerprint.to_hex().len(), 64);
        }
    }

    #[test]
    fn credentials_and_scopes_parse_without_panicking(text in any_text()) {
        if let Ok(name) = Username::parse(text.clone()) {
            prop_assert_eq!(name.as_str(), text.as_str());
        }
        if let Ok(password) = Password::new_credential(text.clone()) {
            prop_assert!(Password::presented(password.expose()).is_ok());
        }
        let _ = Password::presented(text.as_str());
        let _ = Scope::parse(&text);
        if let Ok(scopes) = Scopes::parse_list(&text) {
            prop_assert_eq!(Scopes::parse_list(&scopes.to_string()), Ok(scopes));
        }
    }
}
