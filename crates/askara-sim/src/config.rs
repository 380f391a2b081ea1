//! What a simulated Askara deployment looks like. Everything the real API leaves unclear
//! (collection shape, whether date filters are honoured) is a switch here, so clients can be
//! tested against every plausible server.

use std::time::Duration;

/// How collections are serialised. Askara's exact shape is undocumented, so all three occur.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CollectionFormat {
    /// API Platform's classic Hydra: `hydra:member`, `hydra:totalItems`, `hydra:view`.
    #[default]
    Hydra,
    /// API Platform 4 JSON-LD without the `hydra:` prefix: `member`, `totalItems`, `view`.
    JsonLd,
    /// A bare JSON array, as `application/json` collections come.
    Plain,
}

/// Token bucket: at most `capacity` requests, `refill` more every `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub capacity: u64,
    pub refill: u64,
    pub period: Duration,
}

impl Default for RateLimit {
    /// Askara's documented limit.
    fn default() -> Self {
        RateLimit {
            capacity: 5000,
            refill: 500,
            period: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Scopes this client may obtain; a request for more is silently narrowed, as RFC 6749
    /// allows, so a client learns of a missing scope from the 403 on use.
    pub granted_scopes: Vec<String>,
    pub collection_format: CollectionFormat,
    /// `false` models a server that silently ignores `createdAt[...]` filters.
    pub honour_created_filter: bool,
    /// `false` models a server that silently ignores `updatedAt[...]` filters.
    pub honour_updated_filter: bool,
    pub access_token_ttl: Duration,
    /// Refresh tokens last 30 days at Askara.
    pub refresh_token_ttl: Duration,
    /// `true`: device codes are approved the moment they are issued (unattended demos).
    pub device_auto_approve: bool,
    pub device_poll_interval_secs: u64,
    /// How long a device code may be polled; tests shorten it to reach `expired_token`.
    pub device_code_ttl: Duration,
    pub rate_limit: Option<RateLimit>,
    /// Used when `itemsPerPage` is absent or not honoured.
    pub default_items_per_page: usize,
    /// The most notes one page holds, whatever `itemsPerPage` asks (API Platform's
    /// `maximum_items_per_page`; Askara documents 100).
    pub max_items_per_page: usize,
    /// `false` models API Platform without client-side page sizes: `itemsPerPage` is ignored
    /// and every page holds `default_items_per_page` (API Platform's own default is 30).
    pub honour_items_per_page: bool,
    /// `false` models a broken server that ignores `page` and serves the first page again.
    pub honour_page: bool,
    /// `false`: Hydra/JSON-LD collections carry no `totalItems` and no `last` link (API
    /// Platform's partial pagination: `next` only when the page is full).
    pub include_totals: bool,
    /// Timestamps are written with this UTC offset (minutes), e.g. 120 for `+02:00`.
    pub utc_offset_minutes: i32,
    /// Multiplies Askara's webhook retry delays (5, 10, 20 s) and its 5 s delivery timeout;
    /// tests use ~0.01.
    pub webhook_retry_scale: f64,
    /// The scope `POST/GET/DELETE /webhooks` require (Askara does not document one);
    /// `None`: any valid token may manage webhooks.
    pub webhooks_scope: Option<String>,
    /// `true`: deliveries carry only the note's `uuid`, so receivers must fetch the rest.
    pub webhook_slim_payload: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "askara-inbox-demo".to_string(),
            client_secret: "sim-secret".to_string(),
            granted_scopes: vec!["read:notes".to_string()],
            collection_format: CollectionFormat::Hydra,
            honour_created_filter: true,
            honour_updated_filter: true,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            device_auto_approve: false,
            device_poll_interval_secs: 5,
            device_code_ttl: Duration::from_secs(600),
            rate_limit: Some(RateLimit::default()),
            default_items_per_page: 20,
            max_items_per_page: 100,
            honour_items_per_page: true,
            honour_page: true,
            include_totals: true,
            utc_offset_minutes: 0,
            webhook_retry_scale: 1.0,
            webhooks_scope: None,
            webhook_slim_payload: false,
        }
    }
}

impl SimConfig {
    /// The page size a request for `asked` items gets.
    pub(crate) fn page_size_for(&self, asked: Option<usize>) -> usize {
        let cap = self.max_items_per_page.max(1);
        match asked {
            Some(n) if self.honour_items_per_page => n.min(cap),
            _ => self.default_items_per_page.min(cap),
        }
    }
}
