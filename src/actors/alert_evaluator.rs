//! AlertEvaluator: receives every published snapshot (from the StateActor) to evaluate the
//! alert catalog over it. The rules arrive with the alerts issue; today it records what it
//! received per loop, so the wiring is exercised end to end. It does no I/O and cannot fail.

use super::messages::{LoopName, SnapshotPublished};
use actix::prelude::*;
use std::collections::BTreeMap;
use std::time::SystemTime;

#[derive(Default)]
pub struct AlertEvaluator {
    received: BTreeMap<LoopName, (u64, SystemTime)>,
}

impl Actor for AlertEvaluator {
    type Context = Context<Self>;
}

impl Handler<SnapshotPublished> for AlertEvaluator {
    type Result = ();
    fn handle(&mut self, msg: SnapshotPublished, _: &mut Context<Self>) {
        let entry = self.received.entry(msg.loop_name).or_insert((0, msg.at));
        entry.0 += 1;
        entry.1 = msg.at;
    }
}

/// How many snapshots each loop has delivered, and the latest one's time.
#[derive(Message)]
#[rtype(result = "BTreeMap<LoopName, (u64, SystemTime)>")]
pub struct GetReceived;

impl Handler<GetReceived> for AlertEvaluator {
    type Result = MessageResult<GetReceived>;
    fn handle(&mut self, _: GetReceived, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.received.clone())
    }
}
