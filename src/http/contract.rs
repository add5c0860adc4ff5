//! Makes the OpenAPI description say what the API does, where the derive
//! macros alone say less: errors are `application/problem+json`; every
//! protected operation can answer 401 and 403; every operation can answer
//! 400 (a NUL character, a malformed id, query or JSON body), and one with
//! a body also 413, 415 and 422; pages, ids and the closed
//! lists of values (statuses, kinds, sort orders) are typed with their
//! ranges and values, although the handlers read them as text to word
//! their own errors; and an activity entry's `before` and `after` may be
//! null. The lists come from the domain's own enums, so they cannot drift.

use super::access::{action_of, method_name};
use crate::app::input::{MAX_PAGE, MAX_PER_PAGE};
use crate::domain::customers::CustomerStatus;
use crate::domain::ledger::PaymentStatus;
use crate::domain::notifications::{EmailKind, EmailStatus};
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Schema,
};

const PROBLEM: &str = "application/problem+json";

pub struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Delete, &mut item.delete),
            ] {
                let Some(op) = op else { continue };
                errors_are_problems(op);
                add_problem(
                    op,
                    "400",
                    "The request is malformed: a NUL character, or an id, query parameter or JSON body that cannot be read",
                );
                if op.request_body.is_some() {
                    add_problem(op, "413", "The request body is too large");
                    add_problem(
                        op,
                        "415",
                        "The body is not sent as JSON (Content-Type: application/json)",
                    );
                    add_problem(
                        op,
                        "422",
                        "The body is not a JSON object, or a field is missing or wrong",
                    );
                }
                if action_of(method_name(&method), path).is_some() {
                    add_problem(op, "401", "Not signed in, or the session has ended");
                    add_problem(op, "403", "Signed in, but not allowed to do this");
                }
                type_parameters(op, path);
            }
        }
        nullable_activity_states(openapi);
    }
}

/// Every 4xx and 5xx answer is an RFC 9457 problem, whatever the derive said.
fn errors_are_problems(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        if let Some(content) = response.content.shift_remove("application/json") {
            response.content.insert(PROBLEM.to_string(), content);
        }
    }
}

fn add_problem(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        });
}

fn integer(min: i64, max: Option<i64>) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(min))
            .maximum(max)
            .build(),
    )
}

fn one_of(values: Vec<&'static str>) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
            .build(),
    )
}

/// The values a `status` filter takes on `path`, if it has a closed list.
fn statuses(path: &str) -> Option<Vec<&'static str>> {
    match path {
        "/api/v1/customers" | "/api/v1/customers.csv" => {
            Some(CustomerStatus::ALL.iter().map(|s| s.as_str()).collect())
        }
        "/api/v1/payments" => Some(PaymentStatus::ALL.iter().map(|s| s.as_str()).collect()),
        "/api/v1/emails" => Some(EmailStatus::ALL.iter().map(|s| s.as_str()).collect()),
        _ => None,
    }
}

fn type_parameters(op: &mut Operation, path: &str) {
    let Some(parameters) = op.parameters.as_mut() else {
        return;
    };
    for p in parameters.iter_mut() {
        let schema = match (&p.parameter_in, p.name.as_str()) {
            (ParameterIn::Path, "id") => integer(1, Some(i64::MAX)),
            (ParameterIn::Query, "page") => integer(1, Some(MAX_PAGE)),
            (ParameterIn::Query, "per_page") => integer(1, Some(MAX_PER_PAGE)),
            (ParameterIn::Query, "customer_id" | "entity_id") if path == "/api/v1/emails" => {
                integer(1, Some(i64::MAX))
            }
            (ParameterIn::Query, "status") => match statuses(path) {
                Some(values) => one_of(values),
                None => continue,
            },
            (ParameterIn::Query, "kind") if path == "/api/v1/emails" => {
                one_of(EmailKind::ALL.iter().map(|k| k.as_str()).collect())
            }
            (ParameterIn::Query, "sort") if path == "/api/v1/customers" => {
                one_of(vec!["name", "balance_desc", "overdue_desc", "created_desc"])
            }
            (ParameterIn::Query, "overdue") => one_of(vec!["true", "false"]),
            _ => continue,
        };
        p.schema = Some(RefOr::T(schema));
    }
}

/// An entry's `before` is null for a creation and `after` for a removal.
fn nullable_activity_states(openapi: &mut OpenApi) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(entry))) = components.schemas.get_mut("ActivityEntry") else {
        return;
    };
    for field in ["before", "after"] {
        entry.properties.insert(
            field.to_string(),
            RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
                    .build(),
            )),
        );
        entry.required.retain(|r| r != field);
    }
}
