//! The read answers: a customer's items and the customers' summaries.

use std::str::FromStr;

use application::ports::{CustomerSummary, PurchasedItem};
use domain::Money;
use serde::Serialize;
use serde_json::Number;

/// An amount as a plain JSON number in its shortest exact form (`2`, `18.5`, `12.2`).
fn amount(money: Money) -> Number {
    // The decimal text of cents is always a valid JSON number; the fallback is unreachable.
    Number::from_str(&money.to_decimal_string()).unwrap_or_else(|_| Number::from(0))
}

/// One purchased item: `{"customerId":"01","itemId":"20201","costEur":2}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"customerId": "01", "itemId": "20201", "costEur": 2}))]
pub(crate) struct ItemDto {
    pub customer_id: String,
    pub item_id: String,
    /// Euros, in the shortest exact form (`2`, `18.5`).
    #[schema(value_type = f64, minimum = 0)]
    pub cost_eur: Number,
}

impl From<PurchasedItem> for ItemDto {
    fn from(item: PurchasedItem) -> Self {
        Self {
            customer_id: item.customer_id.into_string(),
            item_id: item.item_id.into_string(),
            cost_eur: amount(item.cost),
        }
    }
}

/// `{"items":[...],"next_cursor":"..."}`; `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"items": [{"customerId": "01", "itemId": "20201", "costEur": 2}]}))]
pub(crate) struct ItemsResponse {
    pub items: Vec<ItemDto>,
    /// The cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One customer's summary: `{"customerId":"01","nbrOfPurchasedItems":3,"totalAmountEur":18.5}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"customerId": "01", "nbrOfPurchasedItems": 3, "totalAmountEur": 18.5}))]
pub(crate) struct SummaryDto {
    pub customer_id: String,
    /// How many item entries the customer bought.
    pub nbr_of_purchased_items: u64,
    /// The sum of their `costEur`, exact.
    #[schema(value_type = f64, minimum = 0)]
    pub total_amount_eur: Number,
}

impl From<CustomerSummary> for SummaryDto {
    fn from(summary: CustomerSummary) -> Self {
        Self {
            customer_id: summary.customer_id.into_string(),
            nbr_of_purchased_items: summary.purchased_items,
            total_amount_eur: amount(summary.total),
        }
    }
}

/// `{"summaries":[...],"next_cursor":"..."}`; `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"summaries": [{"customerId": "01", "nbrOfPurchasedItems": 3, "totalAmountEur": 18.5}]}))]
pub(crate) struct SummariesResponse {
    pub summaries: Vec<SummaryDto>,
    /// The cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
