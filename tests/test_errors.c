/* Error messages stay one printable line when they quote input holding
 * control characters (regressions from fuzzing, docs/FUZZING.md). */
#include "data/loader.h"
#include "serve/request.h"
#include "test.h"

static int is_one_printable_line(const char *msg)
{
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return 0;
    return msg[0] != '\0';
}

TEST(err_set_replaces_control_characters)
{
    Err err = {{0}};
    CHECK(err_set(&err, "bad id '%s'", "a\nb\r\t\x1b[31mc\x7f") == -1);
    CHECK_STR(err.msg, "bad id 'a?b???[31mc?'");
    err_prefix(&err, "file\n%d", 1);
    CHECK_STR(err.msg, "file?1: bad id 'a?b???[31mc?'");
}

/* fuzz_features crash-458973f1: a JSON key with a raw newline (cJSON accepts
 * one) was echoed into a two-line message. */
TEST(features_json_key_with_newline_one_line_error)
{
    const char *path = test_write_file("nl_key.json", "{\"1\": [1], \"a\nb\": 7}");
    EventLog log;
    evlog_init(&log);
    evlog_add(&log, "u", 1, "1", 1, 0);
    Err err = {{0}};
    CHECK(load_item_features(path, &log, &err) == -1);
    CHECK(strstr(err.msg, "item \"a?b\": expected an array") != NULL);
    CHECK(is_one_printable_line(err.msg));
    evlog_free(&log);
}

/* fuzz_request crash-054d4b77: an unknown field name with a newline. */
TEST(request_unknown_field_with_newline_one_line_error)
{
    static const char body[] = "{\"use\x01\nr\": \"u1\"}";
    RecRequest r;
    Err err = {{0}};
    CHECK(request_parse(body, sizeof body - 1, &r, &err) == -1);
    CHECK(strstr(err.msg, "unknown field 'use??r'") != NULL);
    CHECK(is_one_printable_line(err.msg));
    CHECK(r.user == NULL && r.history == NULL);
}
