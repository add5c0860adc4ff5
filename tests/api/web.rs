//! The web pages driven as a browser drives them, without one: forms posted
//! with the session cookie and the CSRF token, pages read as HTML. Every
//! signed-in page is tried by every kind of caller, straight from the one
//! permission table, and checked against the API's answer for the same
//! action; then the flows a shop uses every day, on both backends.

use crate::helpers::{ADMIN_PASSWORD, Backend, TestApp, link_token, spawn_app};
use crate::on_both_backends;
use duetrack::domain::access::Role;
use duetrack::domain::permissions::{Action, Caller};
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    every_page_admits_exactly_the_callers_the_table_names,
    a_staff_member_may_not_message_or_pause_reminders_on_either_face,
    a_payment_form_sent_twice_records_one_payment,
    a_fresh_payment_repeating_the_last_is_held_until_confirmed,
    a_customer_is_added_edited_and_charged_through_the_pages,
    a_customer_reports_a_payment_in_the_portal_and_staff_confirm_it,
    every_page_opens_with_real_records_for_those_it_is_for,
    an_admin_voids_deletes_and_restores_through_the_pages,
    the_customer_list_download_runs_no_formulas,
    the_owner_purges_a_deleted_customer_through_the_page,
    statement_and_activity_downloads_run_no_formulas_on_either_face,
    a_sign_in_form_posted_from_elsewhere_signs_no_one_in,
);

/// A signed-in browser: the session cookie and the CSRF token of its forms.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

/// What a page answered.
struct Page {
    status: StatusCode,
    location: String,
    html: String,
}

impl Page {
    fn redirected_to(&self, prefix: &str) -> bool {
        self.status.is_redirection() && self.location.starts_with(prefix)
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn read(response: reqwest::Response) -> Page {
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Page {
        status,
        location,
        html: response.text().await.unwrap_or_default(),
    }
}

impl Browser {
    /// Nobody signed in.
    fn anonymous(app: &TestApp) -> Self {
        Self {
            client: no_redirects(),
            base: app.url(""),
            cookie: String::new(),
            csrf: String::new(),
        }
    }

    /// Signs in through the sign-in form.
    async fn sign_in(app: &TestApp, username: &str, password: &str) -> Self {
        let client = no_redirects();
        let (form_cookie, form_token) = crate::helpers::login_form(&client, app).await;
        let response = client
            .post(app.url("/login"))
            .header("cookie", form_cookie)
            .form(&[
                ("username", username),
                ("password", password),
                ("next", ""),
                ("form_token", &form_token),
            ])
            .send()
            .await
            .unwrap();
        let mut cookie = Vec::new();
        let mut csrf = String::new();
        for value in response.headers().get_all("set-cookie") {
            let pair = value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string();
            if let Some(token) = pair.strip_prefix("duetrack_csrf=") {
                csrf = token.to_string();
            }
            if pair.starts_with("duetrack_session=") || pair.starts_with("duetrack_csrf=") {
                cookie.push(pair);
            }
        }
        assert!(
            response.status().is_redirection() && !csrf.is_empty(),
            "{username} could not sign in on the web: {}",
            response.status()
        );
        Self {
            client,
            base: app.url(""),
            cookie: cookie.join("; "),
            csrf,
        }
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.cookie.is_empty() {
            request
        } else {
            request.header("cookie", &self.cookie)
        }
    }

    async fn get(&self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        read(self.with_cookie(request).send().await.unwrap()).await
    }

    /// Posts a form with this session's CSRF token.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        let request = self.client.post(format!("{}{path}", self.base)).form(&form);
        read(self.with_cookie(request).send().await.unwrap()).await
    }
}

/// A staff account with `role`, signed in on the web.
async fn staff_browser(app: &TestApp, username: &str, role: &str) -> Browser {
    app.post(
        "/api/v1/staff",
        json!({"username": username, "password": "counter-key-4821", "role": role}),
    )
    .await
    .ok(201);
    Browser::sign_in(app, username, "counter-key-4821").await
}

/// A customer with a password and something owed, signed in on the web.
async fn customer_browser(app: &TestApp, name: &str, email: &str) -> (i64, Browser) {
    let id = app
        .post("/api/v1/customers", json!({"name": name, "email": email}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(id, json!({"amount": "500"})).await.ok(201);
    let token = link_token(app, email).await;
    app.send(
        app.client
            .post(app.url("/api/v1/auth/set-password"))
            .json(&json!({"token": token, "password": "mango tree by the well"})),
    )
    .await
    .ok(200);
    (
        id,
        Browser::sign_in(app, email, "mango tree by the well").await,
    )
}

/// The value of a hidden input in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the page has no {name} field"))
        .to_string()
}

async fn every_page_admits_exactly_the_callers_the_table_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, customer) = customer_browser(&app, "Asha Rao", "asha@example.com").await;
    let callers = [
        ("anonymous", None, Browser::anonymous(&app)),
        ("customer", Some(Caller::Customer), customer),
        (
            "staff",
            Some(Caller::Staff(Role::Staff)),
            staff_browser(&app, "counter", "staff").await,
        ),
        (
            "admin",
            Some(Caller::Staff(Role::Admin)),
            staff_browser(&app, "manager", "admin").await,
        ),
        (
            "owner",
            Some(Caller::Staff(Role::Owner)),
            Browser::sign_in(&app, "admin", ADMIN_PASSWORD).await,
        ),
    ];
    let mut checked = 0;
    for (method, path, action) in duetrack::web::access::ROUTES {
        // Ids nobody has: an admitted caller meets "not found", never a change.
        let concrete = path.replace("{id}", "987654");
        for (who, caller, browser) in &callers {
            let page = if *method == "GET" {
                browser.get(&concrete).await
            } else {
                browser.post(&concrete, &[]).await
            };
            let refused = page.status == StatusCode::FORBIDDEN || page.redirected_to("/login");
            let admitted = caller.is_some_and(|c| action.allows(c));
            assert_eq!(
                !refused, admitted,
                "{who} on {method} {path} ({action:?}) answered {} {}",
                page.status, page.location
            );
            assert!(
                !page.status.is_server_error(),
                "{who} on {method} {path} answered {}",
                page.status
            );
            checked += 1;
        }
    }
    assert!(checked >= 5 * 40, "only {checked} page checks ran");
}

async fn a_staff_member_may_not_message_or_pause_reminders_on_either_face(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.customer("Ravi Kumar").await;
    let staff = staff_browser(&app, "counter", "staff").await;
    let token = app.login("counter", "counter-key-4821").await.unwrap();
    let as_staff = |r: reqwest::RequestBuilder| r.bearer_auth(&token);

    let web = staff
        .post(
            &format!("/customers/{id}/message"),
            &[("subject", "Hello"), ("body", "Your dues")],
        )
        .await;
    let api = app
        .send(
            as_staff(app.client.post(app.url("/api/v1/notifications")))
                .json(&json!({"to": [id], "subject": "Hello", "body": "Your dues"})),
        )
        .await;
    assert_eq!((web.status.as_u16(), api.status.as_u16()), (403, 403));
    assert!(
        !Action::SendMessage.allows(Caller::Staff(Role::Staff)),
        "the table and both faces agree"
    );

    let web = staff
        .post(&format!("/customers/{id}/reminders"), &[("paused", "true")])
        .await;
    let api = app
        .send(
            as_staff(
                app.client
                    .patch(app.url(&format!("/api/v1/customers/{id}"))),
            )
            .json(&json!({"reminders_paused": true})),
        )
        .await;
    assert_eq!((web.status.as_u16(), api.status.as_u16()), (403, 403));
    let customer = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(customer.ok(200)["reminders_paused"], false);

    // What staff may do, they may do on both faces.
    let page = staff.get(&format!("/customers/{id}/payments/new")).await;
    assert_eq!(page.status, StatusCode::OK);
    let api = app
        .send(
            as_staff(
                app.client
                    .post(app.url(&format!("/api/v1/customers/{id}/dues"))),
            )
            .json(&json!({"amount": "10"})),
        )
        .await;
    assert_eq!(api.status.as_u16(), 201);
}

async fn a_payment_form_sent_twice_records_one_payment(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.customer("Meena Iyer").await;
    app.add_due(id, json!({"amount": "100"})).await.ok(201);
    let staff = staff_browser(&app, "counter", "staff").await;
    let form = staff.get(&format!("/customers/{id}/payments/new")).await;
    assert_eq!(form.status, StatusCode::OK);
    let key = hidden(&form.html, "idempotency_key");
    let fields = [
        ("amount", "10"),
        ("method", "cash"),
        ("idempotency_key", key.as_str()),
    ];
    let first = staff
        .post(&format!("/customers/{id}/payments"), &fields)
        .await;
    assert!(
        first.redirected_to(&format!("/customers/{id}")),
        "{}",
        first.status
    );
    // Back, and the same form sent again.
    let again = staff
        .post(&format!("/customers/{id}/payments"), &fields)
        .await;
    assert!(
        again.redirected_to(&format!("/customers/{id}")),
        "{}",
        again.status
    );
    assert_eq!(app.balance(id).await, "90.00");
    let payments = app.get(&format!("/api/v1/customers/{id}/payments")).await;
    assert_eq!(payments.ok(200)["items"].as_array().unwrap().len(), 1);
}

async fn a_fresh_payment_repeating_the_last_is_held_until_confirmed(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.customer("Farah Khan").await;
    app.add_due(id, json!({"amount": "100"})).await.ok(201);
    let staff = staff_browser(&app, "counter", "staff").await;
    let path = format!("/customers/{id}/payments");
    let pay = |key: String| {
        let (staff, path) = (&staff, &path);
        async move {
            let fields = [
                ("amount", "10"),
                ("method", "upi"),
                ("idempotency_key", key.as_str()),
            ];
            staff.post(path, &fields).await
        }
    };
    let first_form = staff.get(&format!("/customers/{id}/payments/new")).await;
    let first = pay(hidden(&first_form.html, "idempotency_key")).await;
    assert!(first.status.is_redirection());

    // A new form, the same amount, a minute later: held back with the earlier payment shown.
    let second_form = staff.get(&format!("/customers/{id}/payments/new")).await;
    let second_key = hidden(&second_form.html, "idempotency_key");
    let held = pay(second_key.clone()).await;
    assert_eq!(held.status, StatusCode::OK);
    assert!(held.html.contains("Record another"), "{}", held.html);
    assert!(held.html.contains("10.00"));
    assert_eq!(app.balance(id).await, "90.00");

    // Only an explicit yes records it.
    let fields = [
        ("amount", "10"),
        ("method", "upi"),
        ("idempotency_key", second_key.as_str()),
        ("confirm_repeat", "yes"),
    ];
    let confirmed = staff
        .post(&format!("/customers/{id}/payments"), &fields)
        .await;
    assert!(confirmed.status.is_redirection(), "{}", confirmed.status);
    assert_eq!(app.balance(id).await, "80.00");
    // The API keeps its contract: no hold for a new key.
    app.pay(id, json!({"amount": "10"})).await.ok(201);
    assert_eq!(app.balance(id).await, "70.00");
}

async fn a_customer_is_added_edited_and_charged_through_the_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = staff_browser(&app, "manager", "admin").await;
    let bad = admin
        .post("/customers", &[("name", ""), ("email", "not-an-email")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("email"), "the form names the bad field");

    let added = admin
        .post(
            "/customers",
            &[("name", "Gopal Das"), ("phone", "+91 98450 12345")],
        )
        .await;
    assert!(added.redirected_to("/customers/"), "{}", added.status);
    let id: i64 = added
        .location
        .trim_start_matches("/customers/")
        .parse()
        .unwrap();

    let edited = admin
        .post(
            &format!("/customers/{id}/edit"),
            &[("name", "Gopal Das"), ("category", "wholesale")],
        )
        .await;
    assert!(edited.status.is_redirection(), "{}", edited.status);
    let due = admin
        .post(
            &format!("/customers/{id}/dues"),
            &[("amount", "250.50"), ("description", "Rice")],
        )
        .await;
    assert!(due.status.is_redirection(), "{}", due.status);
    let page = admin.get(&format!("/customers/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Rice") && page.html.contains("250.50"));
    let api = app.get(&format!("/api/v1/customers/{id}")).await;
    let api = api.ok(200);
    assert_eq!(
        (api["balance"].as_str(), api["category"].as_str()),
        (Some("250.50"), Some("wholesale"))
    );

    let missing = admin.get("/customers/987654").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn a_customer_reports_a_payment_in_the_portal_and_staff_confirm_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, customer) = customer_browser(&app, "Lakshmi N", "lakshmi@example.com").await;
    let home = customer.get("/portal").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.html.contains("500.00"));
    let key = hidden(&home.html, "idempotency_key");
    let paid = customer
        .post(
            "/portal/pay",
            &[
                ("amount", "200"),
                ("reference", "UPI-1"),
                ("idempotency_key", key.as_str()),
            ],
        )
        .await;
    assert!(paid.status.is_redirection(), "{}", paid.status);
    let staff = staff_browser(&app, "counter", "staff").await;
    let pending = staff.get("/payments/pending").await;
    assert!(pending.html.contains("Lakshmi N"));
    let payment = app.get("/api/v1/payments?status=pending").await;
    let payment_id = payment.ok(200)["items"][0]["id"].as_i64().unwrap();
    let confirmed = staff
        .post(&format!("/payments/{payment_id}/confirm"), &[])
        .await;
    assert!(confirmed.status.is_redirection(), "{}", confirmed.status);
    assert_eq!(app.balance(id).await, "300.00");
    // The staff console is not for customers, and the portal not for staff.
    assert_eq!(
        customer.get("/dashboard").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(staff.get("/portal").await.status, StatusCode::FORBIDDEN);
}

async fn every_page_opens_with_real_records_for_those_it_is_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, customer) = customer_browser(&app, "Kavya S", "kavya@example.com").await;
    let paid = app.pay(id, json!({"amount": "100"})).await;
    let receipt = paid.ok(201)["id"].as_i64().unwrap();
    let owner = Browser::sign_in(&app, "admin", ADMIN_PASSWORD).await;
    let mut opened = 0;
    for (method, path, action) in duetrack::web::access::ROUTES {
        if *method != "GET" {
            continue;
        }
        let (who, browser, id) = if action.allows(Caller::Customer) {
            ("customer", &customer, receipt)
        } else {
            ("owner", &owner, id)
        };
        let concrete = path.replace("{id}", &id.to_string());
        let page = browser.get(&concrete).await;
        assert_eq!(page.status, StatusCode::OK, "{who} opening {concrete}");
        if !concrete.ends_with(".csv") {
            assert!(page.html.contains("</html>"), "{concrete} is a whole page");
        }
        opened += 1;
    }
    assert!(opened >= 20, "only {opened} pages opened");
}

async fn an_admin_voids_deletes_and_restores_through_the_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.customer("Imran Ali").await;
    app.add_due(id, json!({"amount": "300"})).await.ok(201);
    let payment = app.pay(id, json!({"amount": "120"})).await.ok(201)["id"]
        .as_i64()
        .unwrap();
    let admin = staff_browser(&app, "manager", "admin").await;
    let no_reason = admin.post(&format!("/payments/{payment}/void"), &[]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.balance(id).await, "180.00");
    let voided = admin
        .post(
            &format!("/payments/{payment}/void"),
            &[("reason", "Entered twice"), ("confirm", "yes")],
        )
        .await;
    assert!(voided.status.is_redirection(), "{}", voided.status);
    assert_eq!(app.balance(id).await, "300.00");

    let deleted = admin
        .post(
            &format!("/customers/{id}/delete"),
            &[("reason", "Moved away"), ("confirm", "yes")],
        )
        .await;
    assert!(deleted.redirected_to("/customers"), "{}", deleted.status);
    let api = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(api.ok(200)["status"], "deleted");
    let restored = admin.post(&format!("/customers/{id}/restore"), &[]).await;
    assert!(restored.status.is_redirection(), "{}", restored.status);
    let api = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(api.ok(200)["status"], "active");
    // A form without the session's CSRF token changes nothing.
    let forged = admin
        .client
        .post(format!("{}/customers/{id}/delete", admin.base))
        .header("cookie", &admin.cookie)
        .form(&[("csrf", "forged"), ("reason", "x"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let api = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(api.ok(200)["status"], "active");
}

async fn the_customer_list_download_runs_no_formulas(backend: Backend) {
    let app = spawn_app(backend).await;
    app.customer("=HYPERLINK(\"http://evil\",\"x\")").await;
    app.customer("Plain Name").await;
    let staff = staff_browser(&app, "counter", "staff").await;
    let csv = staff.get("/customers.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(csv.html.as_bytes());
    let names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[2].to_string())
        .collect();
    assert!(
        names.contains(&"'=HYPERLINK(\"http://evil\",\"x\")".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"Plain Name".to_string()));
}

async fn the_owner_purges_a_deleted_customer_through_the_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app
        .post(
            "/api/v1/customers",
            json!({"name": "Kavya Menon", "phone": "98450 33333", "notes": "cousin of Ravi"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(id, json!({"amount": "250"})).await.ok(201);
    app.delete(&format!(
        "/api/v1/customers/{id}?force=true&reason=Left%20town"
    ))
    .await
    .ok(200);
    let admin = staff_browser(&app, "manager", "admin").await;
    let page = admin.get(&format!("/customers/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.html.contains("Purge personal data"),
        "an admin is not offered it"
    );
    let refused = admin
        .post(&format!("/customers/{id}/purge"), &[("confirm", "yes")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let owner = Browser::sign_in(&app, "admin", ADMIN_PASSWORD).await;
    let page = owner.get(&format!("/customers/{id}")).await;
    assert!(
        page.html.contains("Purge personal data"),
        "the owner is offered it"
    );
    assert!(
        page.html
            .contains(&format!("action=\"/customers/{id}/purge\""))
    );
    let unticked = owner.post(&format!("/customers/{id}/purge"), &[]).await;
    assert!(unticked.redirected_to(&format!("/customers/{id}")));
    assert_eq!(
        app.get(&format!("/api/v1/customers/{id}")).await.ok(200)["name"],
        "Kavya Menon",
        "nothing is erased without the tick"
    );
    let purged = owner
        .post(&format!("/customers/{id}/purge"), &[("confirm", "yes")])
        .await;
    assert!(
        purged.redirected_to(&format!("/customers/{id}")),
        "{}",
        purged.status
    );
    let page = owner.get(&format!("/customers/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(&format!("Purged customer #{id}")));
    for secret in ["Kavya", "98450", "cousin", "Left town"] {
        assert!(!page.html.contains(secret), "{secret} is still shown");
    }
    assert_eq!(app.balance(id).await, "250.00");
}

/// The rows of a CSV download.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn statement_and_activity_downloads_run_no_formulas_on_either_face(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.customer("@Evil Name").await;
    app.add_due(
        id,
        json!({"amount": "250.50", "description": "=cmd|' /C calc'!A0"}),
    )
    .await
    .ok(201);
    app.pay(id, json!({"amount": "100"})).await.ok(201);

    let api = app
        .send(
            app.client
                .get(app.url(&format!("/api/v1/customers/{id}/statement.csv")))
                .bearer_auth(&app.token),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK);
    let rows = csv_rows(api.body.as_str().unwrap());
    assert_eq!(rows.first().unwrap()[1], "opening");
    assert_eq!(rows.last().unwrap()[5], "150.50", "the closing balance");
    assert!(
        rows.iter().any(|r| r[2] == "'=cmd|' /C calc'!A0"),
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| !r[2].starts_with('=')));

    let admin = staff_browser(&app, "manager", "admin").await;
    let web = admin.get(&format!("/customers/{id}/statement.csv")).await;
    assert_eq!(web.status, StatusCode::OK);
    assert_eq!(
        csv_rows(&web.html),
        rows,
        "both faces give the same statement"
    );

    let activity = admin.get("/activity.csv?q=admin").await;
    assert_eq!(activity.status, StatusCode::OK);
    let entries = csv_rows(&activity.html);
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|r| r[2] == "admin"), "filtered by who");
    assert!(
        entries
            .iter()
            .all(|r| !r[7].starts_with(['=', '+', '-', '@'])),
        "{entries:?}"
    );
    let api = app
        .send(
            app.client
                .get(app.url("/api/v1/activity.csv?actor=admin"))
                .bearer_auth(&app.token),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(csv_rows(api.body.as_str().unwrap()).len(), entries.len());
    // Staff may not read the activity log on either face.
    let staff = staff_browser(&app, "counter", "staff").await;
    assert_eq!(
        staff.get("/activity.csv").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn a_sign_in_form_posted_from_elsewhere_signs_no_one_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = no_redirects();
    // Another site's page posting the right credentials, with no form
    // token or with one that is not this browser's: no session.
    let (_, someone_elses_token) = crate::helpers::login_form(&client, &app).await;
    for token in ["", someone_elses_token.as_str()] {
        let response = client
            .post(app.url("/login"))
            .form(&[
                ("username", "admin"),
                ("password", crate::helpers::ADMIN_PASSWORD),
                ("form_token", token),
            ])
            .send()
            .await
            .unwrap();
        let sets_session = response.headers().get_all("set-cookie").iter().any(|v| {
            v.to_str()
                .unwrap_or_default()
                .starts_with("duetrack_session=")
        });
        let page = read(response).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "token {token:?}");
        assert!(!sets_session, "token {token:?}");
        assert!(page.html.contains("Sign in again"), "{}", page.html);
    }
    // The form as shown signs in.
    let browser = Browser::sign_in(&app, "admin", crate::helpers::ADMIN_PASSWORD).await;
    assert!(browser.get("/dashboard").await.status.is_success());
}
