//! `POST /v1/webhooks`, `GET /v1/webhooks`, `GET|PATCH|DELETE /v1/webhooks/{id}`,
//! `POST /v1/webhooks/{id}/rotate-secret`, `GET /v1/webhooks/{id}/deliveries` and
//! `POST /v1/webhooks/{id}/deliveries/{event_id}/retry`.

use super::Ctx;
use super::accounts::MAX_PAGE;
use super::auth::AppKey;
use super::problem::ApiProblem;
use super::webhook_model::{
    DeliveryList, DeliveryView, NewWebhook, WebhookChange, WebhookList, WebhookView,
    WebhookWithSecret,
};
use crate::ledger::Code;
use crate::webhooks::{DeliveryStatus, WebhookError, WebhookPatch};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

pub struct WebhooksApi {
    pub ctx: Arc<Ctx>,
}

impl From<WebhookError> for ApiProblem {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Refused(refusal) => refusal.into(),
            WebhookError::Store(e) => {
                tracing::error!(error = %e, "webhooks: the event store failed");
                ApiProblem::new(
                    Code::StoreUnavailable,
                    "the event store is unavailable; retry later",
                )
            }
        }
    }
}

/// A registered webhook.
#[derive(ApiResponse)]
pub enum CreatedResponse {
    /// The webhook, with its secret (shown only here and when rotated).
    #[oai(status = 201)]
    Created(Json<WebhookWithSecret>),
}

/// A removed webhook.
#[derive(ApiResponse)]
pub enum DeletedResponse {
    /// Removed, with its deliveries; nothing more is sent to it.
    #[oai(status = 204)]
    Deleted,
}

/// A delivery queued again.
#[derive(ApiResponse)]
pub enum RetryResponse {
    /// The delivery is pending and due now.
    #[oai(status = 202)]
    Accepted(Json<DeliveryView>),
}

fn texts(list: Vec<super::text::Text>) -> Vec<String> {
    list.into_iter().map(|t| t.0).collect()
}

fn status_of(text: Option<&str>) -> Result<Option<DeliveryStatus>, ApiProblem> {
    match text {
        None => Ok(None),
        Some("pending") => Ok(Some(DeliveryStatus::Pending)),
        Some("delivered") => Ok(Some(DeliveryStatus::Delivered)),
        Some("failed") => Ok(Some(DeliveryStatus::Failed)),
        Some(_) => Err(ApiProblem::new(
            Code::InvalidRequest,
            "status must be pending, delivered or failed",
        )),
    }
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Webhooks")]
impl WebhooksApi {
    /// Register a webhook
    ///
    /// From now on, the app's events of the types asked for are POSTed to `url`, signed
    /// with the secret answered here (and never shown again). 422 `webhook_url_not_allowed`
    /// for a URL whose host is or resolves to a loopback, private or link-local address;
    /// 422 `unknown_event_type` for an unknown type, `event_types_required` for none.
    #[oai(path = "/webhooks", method = "post")]
    async fn create(
        &self,
        auth: AppKey,
        body: Json<NewWebhook>,
    ) -> Result<CreatedResponse, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let body = body.0;
        let types = texts(body.event_types);
        let row = self
            .ctx
            .webhooks
            .create(app.id, &body.url.0, &types)
            .await?;
        Ok(CreatedResponse::Created(Json(WebhookWithSecret::from(
            &row,
        ))))
    }

    /// List the app's webhooks
    ///
    /// Oldest first, without their secrets.
    #[oai(path = "/webhooks", method = "get")]
    async fn list(&self, auth: AppKey) -> Result<Json<WebhookList>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let rows = self.ctx.webhooks.list(app.id).await?;
        let webhooks = rows.iter().map(WebhookView::from).collect();
        Ok(Json(WebhookList { webhooks }))
    }

    /// Read a webhook
    ///
    /// 404 `webhook_not_found` for an id that is not one of the app's webhooks.
    #[oai(path = "/webhooks/:id", method = "get")]
    async fn get(&self, auth: AppKey, id: Path<Uuid>) -> Result<Json<WebhookView>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let row = self.ctx.webhooks.get(app.id, id.0).await?;
        Ok(Json(WebhookView::from(&row)))
    }

    /// Change a webhook
    ///
    /// Its URL (checked as at registration), its event types, or its state: `active`
    /// re-enables a disabled webhook, `disabled` pauses it. Events that occur while it is
    /// disabled are sent once it is active again.
    #[oai(path = "/webhooks/:id", method = "patch")]
    async fn update(
        &self,
        auth: AppKey,
        id: Path<Uuid>,
        body: Json<WebhookChange>,
    ) -> Result<Json<WebhookView>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let body = body.0;
        let active = match body.state.as_ref().map(|s| s.0.as_str()) {
            None => None,
            Some("active") => Some(true),
            Some("disabled") => Some(false),
            Some(_) => {
                return Err(ApiProblem::new(
                    Code::InvalidRequest,
                    "state must be active or disabled",
                ));
            }
        };
        let patch = WebhookPatch {
            url: body.url.map(|u| u.0),
            event_types: body.event_types.map(texts),
            active,
        };
        let row = self.ctx.webhooks.update(app.id, id.0, patch).await?;
        Ok(Json(WebhookView::from(&row)))
    }

    /// Remove a webhook
    ///
    /// With its deliveries: nothing more is sent to it.
    #[oai(path = "/webhooks/:id", method = "delete")]
    async fn delete(&self, auth: AppKey, id: Path<Uuid>) -> Result<DeletedResponse, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        self.ctx.webhooks.delete(app.id, id.0).await?;
        Ok(DeletedResponse::Deleted)
    }

    /// Rotate a webhook's secret
    ///
    /// Answers the new secret (shown only now); every attempt from now on is signed with
    /// it, and the old one signs nothing more.
    #[oai(path = "/webhooks/:id/rotate-secret", method = "post")]
    async fn rotate(
        &self,
        auth: AppKey,
        id: Path<Uuid>,
    ) -> Result<Json<WebhookWithSecret>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let row = self.ctx.webhooks.rotate_secret(app.id, id.0).await?;
        Ok(Json(WebhookWithSecret::from(&row)))
    }

    /// List a webhook's deliveries
    ///
    /// Newest event first (by `seq`, descending), each with its status, attempts, and the
    /// last attempt's HTTP status, latency and error; with the webhook's state and why it
    /// is disabled, if it is. `after` (a page's `next_after`) continues the list.
    #[oai(path = "/webhooks/:id/deliveries", method = "get")]
    async fn deliveries(
        &self,
        auth: AppKey,
        id: Path<Uuid>,
        /// `pending`, `delivered` or `failed`.
        status: Query<Option<String>>,
        /// At most this many, 1 to 200; 50 when left out.
        limit: Query<Option<u64>>,
        /// Only deliveries of events numbered below this (the previous page's `next_after`).
        after: Query<Option<i64>>,
    ) -> Result<Json<DeliveryList>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let status = status_of(status.0.as_deref())?;
        let limit = limit.0.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiProblem::new(
                Code::InvalidLimit,
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        let webhooks = &self.ctx.webhooks;
        let (hook, page) = webhooks
            .deliveries(app.id, id.0, status, after.0, limit)
            .await?;
        let full = page.len() as u64 == limit;
        let next_after = page.last().filter(|_| full).map(|d| d.seq);
        Ok(Json(DeliveryList {
            webhook_state: hook.state,
            disabled_reason: hook.disabled_reason,
            deliveries: page.iter().map(DeliveryView::from).collect(),
            next_after,
        }))
    }

    /// Send a delivery again
    ///
    /// Makes the delivery of `event_id` pending and due now, however it ended (with a new
    /// give-up window); it is sent in its owner's order. 409 `webhook_disabled` on a
    /// disabled webhook, 404 `delivery_not_found` for an event it has no delivery of.
    #[oai(path = "/webhooks/:id/deliveries/:event_id/retry", method = "post")]
    async fn retry(
        &self,
        auth: AppKey,
        id: Path<Uuid>,
        event_id: Path<Uuid>,
    ) -> Result<RetryResponse, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let row = self.ctx.webhooks.retry(app.id, id.0, event_id.0).await?;
        Ok(RetryResponse::Accepted(Json(DeliveryView::from(&row))))
    }
}
