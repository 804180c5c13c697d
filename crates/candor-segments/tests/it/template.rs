//! Templates: unknown placeholders refused with positions, values inserted verbatim and
//! escaped for HTML channels.

use candor_domain::policy::Channel;
use candor_segments::template::{Template, TemplateError, TemplateValues};
use expect_test::expect;

#[test]
fn unknown_and_unclosed_placeholders_are_refused() {
    let err = Template::parse("Hi {{first_name}},\nsee {{ offers }}", Channel::Push).unwrap_err();
    expect!["2:5: unknown placeholder `offers`; known placeholders are first_name, recommendations, unsubscribe_url"].assert_eq(&err.to_string());
    let err = Template::parse("Hi {{first_name", Channel::Push).unwrap_err();
    expect!["1:4: this `{{` is never closed with `}}`"].assert_eq(&err.to_string());
    let err = Template::parse("{{#each x}}", Channel::Sms).unwrap_err();
    assert!(matches!(err, TemplateError::UnknownPlaceholder { .. }));
}

#[test]
fn email_needs_an_unsubscribe_link() {
    let err = Template::parse("Hi {{first_name}}", Channel::Email).unwrap_err();
    assert_eq!(err, TemplateError::MissingUnsubscribe);
}

#[test]
fn values_are_escaped_for_html_channels_only() {
    let recs = ["Tom & Jerry", "<script>alert(1)</script>"];
    let values = TemplateValues {
        first_name: "Anna \"{{unsubscribe_url}}\"",
        recommendations: &recs,
        unsubscribe_url: "https://shop.example/u?t=a&b",
    };
    let email = Template::parse(
        "<p>Hi {{first_name}}</p><p>{{recommendations}}</p><a href=\"{{unsubscribe_url}}\">x</a>",
        Channel::Email,
    )
    .unwrap();
    expect![[r#"<p>Hi Anna &quot;{{unsubscribe_url}}&quot;</p><p>Tom &amp; Jerry, &lt;script&gt;alert(1)&lt;/script&gt;</p><a href="https://shop.example/u?t=a&amp;b">x</a>"#]].assert_eq(&email.render(&values));
    let sms = Template::parse("Hi {{ first_name }}: {{recommendations}}", Channel::Sms).unwrap();
    expect![[r#"Hi Anna "{{unsubscribe_url}}": Tom & Jerry, <script>alert(1)</script>"#]]
        .assert_eq(&sms.render(&values));
}
