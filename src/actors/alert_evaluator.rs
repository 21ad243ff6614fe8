//! AlertEvaluator: owns the alert engine. After every change that can move an alert (a loop
//! run, capabilities, the read-only check) the StateActor sends it the new view
//! (`EvaluateAlerts`); it runs the catalog's pure rules over the latest snapshots and the
//! loops' health, advances pending → firing → resolved with the time it was given, hands each
//! transition to the Notifier (which never blocks), and sends the open alerts, the bounded
//! history and the transitions back (`AlertsChanged`). It does no I/O and cannot fail.

use super::messages::{AlertsChanged, EvaluateAlerts, FailureKind, LoopName};
use super::notifier::Notifier;
use super::state::{LoopStatus, Published};
use crate::alerts::engine::Engine;
use crate::alerts::{self, Inputs};
use crate::config::AlertThresholds;
use actix::prelude::*;
use std::collections::BTreeMap;

pub struct AlertEvaluator {
    thresholds: AlertThresholds,
    /// The last snapshot of every loop: a loop whose latest run failed leaves its alerts as
    /// they were (unknown) instead of resolving them for lack of data.
    last: BTreeMap<LoopName, Published>,
    engine: Engine,
    state: Recipient<AlertsChanged>,
    notifier: Option<Notifier>,
}

impl AlertEvaluator {
    pub fn new(thresholds: AlertThresholds, state: Recipient<AlertsChanged>, notifier: Option<Notifier>) -> Self {
        Self {
            last: BTreeMap::new(),
            engine: Engine::new(thresholds.resolve_after),
            thresholds,
            state,
            notifier,
        }
    }
}

impl Actor for AlertEvaluator {
    type Context = Context<Self>;
}

impl Handler<EvaluateAlerts> for AlertEvaluator {
    type Result = ();
    fn handle(&mut self, msg: EvaluateAlerts, _: &mut Context<Self>) {
        let view = &msg.view;
        for (name, published) in &view.snapshots {
            self.last.insert(*name, published.clone());
        }
        let snapshot = |name| self.last.get(&name);
        let mut inputs = Inputs {
            hot_path: snapshot(LoopName::HotPath).and_then(Published::hot_path),
            workload: snapshot(LoopName::Workload).and_then(Published::workload),
            storage: snapshot(LoopName::Storage).and_then(Published::storage),
            hourly: snapshot(LoopName::Hourly).and_then(Published::hourly),
            ..Inputs::default()
        };
        // database_unreachable fires once consecutive runs confirm the outage; a loop that
        // failed only because of it is covered by that alert, not agent_degraded.
        inputs.unreachable = view.database.confirmed_unreachable().map(String::from);
        for health in &view.loops {
            if let LoopStatus::Degraded(reason) = health.status(msg.at) {
                if health.last_failure_kind != Some(FailureKind::Unreachable) && !view.database.is_down() {
                    inputs.degraded_loops.push((health.name.to_string(), reason));
                }
            }
        }
        for (what, reason) in [("read_only", &view.write_access), ("privileges", &view.privileges_lost)] {
            if let Some(reason) = reason {
                inputs.degraded_loops.push((what.to_string(), reason.clone()));
            }
        }
        let conditions = alerts::evaluate(&inputs, &self.thresholds);
        let transitions = self.engine.evaluate(conditions, msg.at);
        if let Some(notifier) = &self.notifier {
            for t in &transitions {
                notifier.notify(t);
            }
        }
        self.state.do_send(AlertsChanged {
            open: self.engine.open(),
            history: self.engine.history(),
            transitions,
        });
    }
}
