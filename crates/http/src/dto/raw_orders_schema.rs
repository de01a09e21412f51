//! The OpenAPI schemas of the `POST /orders` body, on the seeds that parse it
//! ([`super::raw_orders`]): the keys they read, and every limit from the constant the
//! validators use (the domain's ids, timestamps and amounts, the submit use case's limits).
//! The parser itself accepts any JSON so that validation can name every problem; the schema is
//! what validation lets through.

use std::borrow::Cow;

use application::use_cases::SubmitLimits;
use domain::{
    MAX_DECIMAL_PLACES, MAX_ID_CHARS, MAX_ITEM_CENTS, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS,
};
use serde_json::{Value, json};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::integer_range_pattern::integer_range_pattern;
use super::raw_orders::{
    BodySeed, COST_EUR, CUSTOMER_ID, ITEM_ID, ITEMS, ItemSeed, ORDER_ID, OrderSeed, TIMESTAMP,
};

/// The canonical order of the API contract.
fn sample_order() -> Value {
    json!({
        CUSTOMER_ID: "01",
        ORDER_ID: "50",
        TIMESTAMP: "1637245070513",
        ITEMS: [sample_item()],
    })
}

fn sample_item() -> Value {
    json!({ITEM_ID: "20201", COST_EUR: 2})
}

/// `ToSchema` for a seed: the name of its component, and the component its schema refers to.
macro_rules! component {
    ($seed:ty, $name:literal $(, $refers_to:ty)?) => {
        impl ToSchema for $seed {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schemas(_schemas: &mut Vec<(String, RefOr<Schema>)>) {
                $(
                    _schemas.push((<$refers_to>::name().into_owned(), <$refers_to>::schema()));
                    <$refers_to>::schemas(_schemas);
                )?
            }
        }
    };
}

component!(BodySeed, "OrderBatch", OrderSeed);
component!(OrderSeed, "OrderInput", ItemSeed);
component!(ItemSeed, "ItemInput");

impl PartialSchema for BodySeed {
    fn schema() -> RefOr<Schema> {
        let max = SubmitLimits::DEFAULT.max_orders_per_batch;
        OneOfBuilder::new()
            .item(
                ArrayBuilder::new()
                    .items(Ref::from_schema_name(OrderSeed::name()))
                    .min_items(Some(1))
                    .max_items(Some(max)),
            )
            .item(Ref::from_schema_name(OrderSeed::name()))
            .description(Some(format!(
                "A batch: 1 to {max} orders (an array), or one order object (a batch of one)."
            )))
            .examples([json!([sample_order()])])
            .into()
    }
}

impl PartialSchema for OrderSeed {
    fn schema() -> RefOr<Schema> {
        let max_items = SubmitLimits::DEFAULT.max_items_per_order;
        let items = ArrayBuilder::new()
            .items(Ref::from_schema_name(ItemSeed::name()))
            .description(Some(format!(
                "1 to {max_items} items; a repeated itemId is a separate purchase."
            )))
            .min_items(Some(1))
            .max_items(Some(max_items));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "One order. Unknown fields are refused; ids are compared exactly (`\"01\"` is \
                 not `\"1\"`).",
            ))
            .property(CUSTOMER_ID, customer_id_schema())
            .required(CUSTOMER_ID)
            .property(ORDER_ID, order_id_schema())
            .required(ORDER_ID)
            .property(TIMESTAMP, timestamp_schema())
            .required(TIMESTAMP)
            .property(ITEMS, items)
            .required(ITEMS)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .examples([sample_order()])
            .into()
    }
}

impl PartialSchema for ItemSeed {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("One purchased item."))
            .property(ITEM_ID, id_schema(id_rule(), "20201"))
            .required(ITEM_ID)
            .property(COST_EUR, cost_schema())
            .required(COST_EUR)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .examples([sample_item()])
            .into()
    }
}

/// What every id is, in the schema's words.
fn id_rule() -> String {
    format!(
        "1 to {MAX_ID_CHARS} characters, compared exactly; no control or invisible format \
         character (Unicode Cc, Cf), and not only whitespace."
    )
}

/// A customer, order or item id: the domain's own rule (`domain::ids`), length and pattern.
fn id_schema(description: String, example: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_ID_CHARS))
        .pattern(Some(domain::id_pattern()))
        .description(Some(description))
        .examples([json!(example)])
        .into()
}

/// Also the schema of the `customerId` path parameter.
pub(crate) fn customer_id_schema() -> Schema {
    id_schema(id_rule(), "01")
}

fn order_id_schema() -> Schema {
    id_schema(
        format!(
            "The idempotency key: an identical order sent again is a duplicate; other content \
             under the same id is a conflict (409). {}",
            id_rule()
        ),
        "50",
    )
}

fn timestamp_schema() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(integer_range_pattern(
                    MIN_TIMESTAMP_MS,
                    MAX_TIMESTAMP_MS,
                ))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(MIN_TIMESTAMP_MS))
                .exclusive_maximum(Some(MAX_TIMESTAMP_MS)),
        )
        .description(Some(format!(
            "When the order was placed: epoch milliseconds from 2000-01-01 ({MIN_TIMESTAMP_MS}) \
             to before 2100-01-01 ({MAX_TIMESTAMP_MS}), as a string of digits (canonical) or a \
             JSON integer."
        )))
        .examples([json!("1637245070513")])
        .into()
}

/// Euros as a JSON number: whole cents, at most the domain's largest amount.
fn cost_schema() -> Schema {
    let cents_per_euro = 10_i64.pow(MAX_DECIMAL_PLACES);
    let max_euros = MAX_ITEM_CENTS / cents_per_euro;
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
        .description(Some(format!(
            "Euros, >= 0 with at most {MAX_DECIMAL_PLACES} decimal places, at most \
             {max_euros}; kept exactly (cents)."
        )))
        .examples([json!(2)])
        .multiple_of(Some(1.0 / f64::from(10_u32.pow(MAX_DECIMAL_PLACES))))
        .maximum(Some(max_euros))
        .minimum(Some(0))
        .into()
}
