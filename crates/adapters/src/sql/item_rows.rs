//! `order_items` rows as the port's [`PurchasedItem`]s: one decoding for the order store's own
//! reads and the coalesced first-page reads, so neither module has to import the other.

use application::ports::{ItemKey, PurchasedItem, StoreError};
use domain::{CustomerId, ItemId, Money, OrderId, OrderTimestamp};

use super::entities::order_items;
use super::errors::corrupt;

/// The item a row holds; a value outside the domain's bounds is a corrupt row, never clamped.
pub(super) fn purchased_item(row: order_items::Model) -> Result<PurchasedItem, StoreError> {
    Ok(PurchasedItem {
        key: ItemKey {
            timestamp: u64::try_from(row.order_ts)
                .ok()
                .and_then(OrderTimestamp::from_millis)
                .ok_or_else(|| corrupt("order_items.order_ts"))?,
            order_id: OrderId::parse(row.order_id).map_err(|_| corrupt("order_items.order_id"))?,
            position: u32::try_from(row.position).map_err(|_| corrupt("order_items.position"))?,
        },
        customer_id: CustomerId::parse(row.customer_id)
            .map_err(|_| corrupt("order_items.customer_id"))?,
        item_id: ItemId::parse(row.item_id).map_err(|_| corrupt("order_items.item_id"))?,
        cost: Money::from_cents(row.cost_cents).ok_or_else(|| corrupt("order_items.cost_cents"))?,
    })
}
