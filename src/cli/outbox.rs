//! `outbox [list | flush]`: what the durable outbox holds, and sending it.

use super::args::OutboxAction;
use crate::config::Config;

pub fn outbox(_config: &Config, _action: Option<OutboxAction>) -> u8 {
    super::commands::not_available("outbox")
}
