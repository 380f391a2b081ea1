//! `audit verify`: recomputes the inbox's audit hash chain (`app::audit::verify`) and prints
//! one line either way.

use crate::args::AuditCommand;
use crate::context::Context;
use crate::error::CliError;
use inbox::AuditCheck;

pub async fn run(ctx: &Context, cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify => {
            let inbox = ctx.inbox()?;
            match app::audit::verify(&inbox).await? {
                AuditCheck::Intact { rows, head } => {
                    println!("audit trail intact: {rows} rows, head {head}");
                    Ok(())
                }
                AuditCheck::Broken(b) => Err(CliError::AuditBroken {
                    message: format!(
                        "{b}; keep the inbox file as it is and tell IT (compare it with a backup and the head hash recorded before)"
                    ),
                }),
            }
        }
    }
}
