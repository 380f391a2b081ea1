//! Who acts, for the commands that write audit rows: the signed-in Askara user when this data
//! dir has a sign-in (or `ASKARA_CLIENT_SECRET` is set), else the OS account
//! (`app::Identity::resolve`). Asked once per command.

use std::sync::Arc;

use askara::{ApiClient, MemoryTokenStore, SharedClock, SystemClock, TokenStore};

use crate::context::Context;

pub async fn identity(ctx: &Context) -> app::Identity {
    let secret = Context::client_secret();
    let store: Option<Arc<dyn TokenStore>> = match ctx.existing_token_store() {
        Ok(Some(store)) => Some(store),
        _ if secret.is_some() => Some(Arc::new(MemoryTokenStore::default())),
        _ => None,
    };
    let api = store.and_then(|store| {
        let cfg = ctx.settings.client_config(secret).ok()?;
        let clock: SharedClock = Arc::new(SystemClock);
        ApiClient::new(cfg, store, clock).ok()
    });
    app::Identity::resolve(api.as_ref()).await
}
