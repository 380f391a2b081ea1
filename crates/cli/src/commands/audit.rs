//! `audit verify`: recomputes the inbox's audit hash chain (`app::audit::verify`) and prints
//! one line either way, for the local inbox or a clinic's shared one.

use crate::args::AuditCommand;
use crate::context::Context;
use crate::error::CliError;
use inbox::AuditCheck;

pub async fn run(ctx: &Context, cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify => {
            let opened = ctx.store().await?;
            match app::audit::verify(opened.store.as_ref()).await? {
                AuditCheck::Intact { rows, head } => {
                    println!("audit trail intact: {rows} rows, head {head}");
                    Ok(())
                }
                AuditCheck::Broken(b) if opened.is_clinic() => Err(CliError::AuditBroken {
                    message: format!(
                        "{b}; leave the clinic inbox's database as it is and tell IT (compare it with a backup and the head hash recorded before)"
                    ),
                }),
                AuditCheck::Broken(b) => Err(CliError::AuditBroken {
                    message: format!(
                        "{b}; keep the inbox file as it is and tell IT (compare it with a backup and the head hash recorded before)"
                    ),
                }),
            }
        }
    }
}
