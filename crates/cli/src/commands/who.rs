//! Who acts, for the commands that write audit rows: in a clinic's shared inbox the connected
//! PostgreSQL role (the server's audit trigger refuses any other actor); else the signed-in
//! Askara user when this data dir has a sign-in (or `ASKARA_CLIENT_SECRET` is set), else the
//! OS account (`app::inbox_store::OpenedStore::identity`). Asked once per command.

use std::sync::Arc;

use app::inbox_store::OpenedStore;
use askara::{ApiClient, MemoryTokenStore, SharedClock, SystemClock, TokenStore};

use crate::context::Context;

pub async fn identity(ctx: &Context, store: &OpenedStore) -> app::Identity {
    if store.is_clinic() {
        // The role: no need to ask Askara who is signed in.
        return store.identity(None).await;
    }
    let secret = Context::client_secret();
    let token_store: Option<Arc<dyn TokenStore>> = match ctx.existing_token_store() {
        Ok(Some(s)) => Some(s),
        _ if secret.is_some() => Some(Arc::new(MemoryTokenStore::default())),
        _ => None,
    };
    let api = token_store.and_then(|s| {
        let cfg = ctx.settings.client_config(secret).ok()?;
        let clock: SharedClock = Arc::new(SystemClock);
        ApiClient::new(cfg, s, clock).ok()
    });
    store.identity(api.as_ref()).await
}
