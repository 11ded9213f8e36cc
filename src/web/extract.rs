//! Axum extractors whose rejections answer in the API's JSON error shape.

use axum::extract::{FromRequest, FromRequestParts};

use super::error::ApiError;

/// A JSON body; bad JSON is a 400, wrong fields a 422, a missing content type 415
/// and an oversized body 413, all with the error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string; a malformed one is a 422 with the error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters; ones that do not parse (a non-numeric id) are a 404.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
