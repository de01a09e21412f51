//! What the use cases need from the outside, named by role. Adapters implement these traits;
//! the server wires them in as `Arc<dyn Port>`.

mod clock;
mod order_store;

pub use clock::{Clock, SystemClock};
pub use order_store::{
    CustomerSummary, InsertError, ItemKey, OrderStore, PurchasedItem, StoreError,
};

#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
#[cfg(any(test, feature = "mocks"))]
pub use order_store::MockOrderStore;
