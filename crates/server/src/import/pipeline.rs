//! Chunks are written while the next ones are read and checked: at most [`IN_FLIGHT`]
//! transactions at once, each on a connection of its own. Their results are taken in file
//! order, and a chunk that shares an order id with one still in flight waits for it, so that
//! an id repeated later in the file is still compared with the earlier order, as if the two
//! had been sent one after the other.

use std::collections::{HashSet, VecDeque};

use anyhow::{Context, Result};
use application::ports::StoreError;
use application::use_cases::{ChunkReport, ImportOrders, SourcedOrder};
use tokio::task::JoinHandle;

use super::{RejectsFile, Totals};

/// Transactions in flight. Two keep the database busy while this process parses and
/// validates; more only queue on the database's own locks.
pub const IN_FLIGHT: usize = 2;

#[derive(Debug)]
struct InFlight {
    ids: HashSet<String>,
    task: JoinHandle<Result<ChunkReport, StoreError>>,
}

#[derive(Debug)]
pub struct Pipeline {
    import: ImportOrders,
    in_flight: VecDeque<InFlight>,
}

impl Pipeline {
    pub fn new(import: ImportOrders) -> Self {
        Self {
            import,
            in_flight: VecDeque::new(),
        }
    }

    /// Starts writing `chunk`, after the chunks it must wait for.
    pub async fn submit(
        &mut self,
        chunk: Vec<SourcedOrder>,
        totals: &mut Totals,
        rejects: &mut RejectsFile,
    ) -> Result<()> {
        let ids: HashSet<String> = chunk
            .iter()
            .filter_map(|entry| entry.order_id().map(str::to_owned))
            .collect();
        if self
            .in_flight
            .iter()
            .any(|earlier| !earlier.ids.is_disjoint(&ids))
        {
            self.finish(totals, rejects).await?;
        }
        while self.in_flight.len() >= IN_FLIGHT {
            self.finish_oldest(totals, rejects).await?;
        }
        let import = self.import.clone();
        self.in_flight.push_back(InFlight {
            ids,
            task: tokio::spawn(async move { import.import_chunk(chunk).await }),
        });
        Ok(())
    }

    /// Waits for every chunk in flight. On a failure the others are still waited for (and
    /// counted), so that the report says what was stored; the first failure is returned.
    pub async fn finish(&mut self, totals: &mut Totals, rejects: &mut RejectsFile) -> Result<()> {
        let mut first_failure = None;
        while !self.in_flight.is_empty() {
            if let Err(failure) = self.finish_oldest(totals, rejects).await {
                first_failure.get_or_insert(failure);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }

    async fn finish_oldest(
        &mut self,
        totals: &mut Totals,
        rejects: &mut RejectsFile,
    ) -> Result<()> {
        let Some(oldest) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let report = oldest
            .task
            .await
            .context("an import task failed")?
            .context(
                "the database failed; nothing of the current chunk was stored, and running the \
                 same import again goes on where it stopped",
            )?;
        totals.stored += report.stored as u64;
        totals.stored_items += report.stored_items as u64;
        totals.duplicates += report.duplicates as u64;
        totals.rejected += report.rejected.len() as u64;
        for rejected in &report.rejected {
            rejects.write(rejected)?;
        }
        Ok(())
    }
}
