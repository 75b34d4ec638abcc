using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Uid2.Admin;
using Uid2.Core.Auth;
using Uid2.Core.Keys;
using Uid2.Storage;

namespace Uid2.Admin.Tests;

public sealed class AdminCliTests : CliTestBase
{
    // From the reference operator's InputNormalizationTest: test.test@gmail.com normalizes to testtest@gmail.com.
    private const string GmailHashBase64 = "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=";

    private static void AssertOneLineError(Result r, string contains)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(contains, r.Err, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("error: ", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Equal("", r.Out);
    }

    private static byte[] ExpectedFirstLevelHash(byte[] diiHash, string firstLevelSalt) =>
        SHA256.HashData(Encoding.ASCII.GetBytes(Convert.ToBase64String(diiHash) + firstLevelSalt));

    [Fact]
    public async Task Participant_create_json_prints_one_line_and_stores_a_verifiable_key()
    {
        var r = await RunAsync("participant", "create", "--name", "Example Publisher", "--site-id", "123", "--roles", "generator,sharer", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);

        using var json = JsonDocument.Parse(lines[0]);
        var props = json.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["siteId", "keyId", "apiKey", "secret"], props);
        Assert.Equal(123, json.RootElement.GetProperty("siteId").GetInt32());
        var apiKey = json.RootElement.GetProperty("apiKey").GetString()!;
        var secret = json.RootElement.GetProperty("secret").GetString()!;
        Assert.Matches(new Regex(@"^UID2-C-L-123-[A-Za-z0-9+/]{6}\.[A-Za-z0-9+/]{38}$"), apiKey);
        Assert.Equal(32, Convert.FromBase64String(secret).Length);
        Assert.DoesNotContain("\\u", lines[0]); // base64 '+' printed as is

        var snapshot = await SnapshotAsync();
        var participant = Assert.Single(snapshot.Participants);
        Assert.Equal(new Participant(123, "Example Publisher", Role.Generator | Role.Sharer, true, Now), participant);

        var record = Assert.Single(snapshot.ApiKeys);
        Assert.Equal(ApiKeys.KeyIdOf(apiKey), record.KeyId);
        Assert.True(ApiKeys.Verify(apiKey, record.KeyHash, record.KeySalt));
        Assert.False(ApiKeys.Verify(apiKey + "x", record.KeyHash, record.KeySalt));
        Assert.DoesNotContain(apiKey, record.KeyHash);
        Assert.Equal(secret, record.ClientSecret);
        Assert.Equal(123, record.SiteId);
        Assert.Equal(Role.Generator | Role.Sharer, record.Roles);
        Assert.False(record.Disabled);

        // The store was bootstrapped and the site got its own active key.
        Assert.Equal(1024, snapshot.Salts!.Buckets.Count);
        var ring = new KeyRing(snapshot.Keys);
        Assert.NotNull(ring.ActiveMasterKey(Now));
        Assert.NotNull(ring.ActiveRefreshKey(Now));
        Assert.NotNull(ring.GetActiveKey(ReservedSites.FallbackPublisher, Now));
        Assert.Equal(123, ring.GetActiveKey(123, Now)?.SiteId);
        Assert.Equal(4, snapshot.Keys.Count);
    }

    [Fact]
    public async Task Participant_create_without_json_prints_a_summary()
    {
        var r = await RunAsync("participant", "create", "--name", "DSP", "--site-id", "77", "--roles", "ID_READER");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("site 77", r.Out);
        Assert.Contains("ID_READER", r.Out);
        var record = Assert.Single((await SnapshotAsync()).ApiKeys);
        Assert.Contains(record.ClientSecret, r.Out);
    }

    [Fact]
    public async Task Duplicate_site_id_is_a_clear_error()
    {
        Assert.Equal(0, (await RunAsync("participant", "create", "--name", "First", "--site-id", "123", "--roles", "generator", "--json")).ExitCode);
        var r = await RunAsync("participant", "create", "--name", "Second", "--site-id", "123", "--roles", "generator", "--json");
        AssertOneLineError(r, "site id 123 already exists");
        var snapshot = await SnapshotAsync();
        Assert.Single(snapshot.Participants);
        Assert.Single(snapshot.ApiKeys);
        Assert.Equal("First", snapshot.Participants[0].Name);
    }

    [Theory]
    [InlineData("generator,bogus", "Unknown role 'bogus'")]
    [InlineData(",", "No roles given")]
    public async Task Invalid_roles_list_the_valid_ones(string roles, string message)
    {
        var r = await RunAsync("participant", "create", "--name", "P", "--site-id", "5", "--roles", roles);
        AssertOneLineError(r, message);
        Assert.Contains("generator, mapper, id_reader, sharer, operator, optout, optout_service", r.Err);
        Assert.False(File.Exists(DatabasePath) && (await SnapshotAsync()).Participants.Count > 0);
    }

    [Theory]
    [InlineData("0", "site ids are positive")]
    [InlineData("-1", "site ids are positive")]
    [InlineData("2", "reserved")]
    [InlineData("abc", "--site-id")]
    public async Task Invalid_site_ids_are_rejected(string siteId, string message)
    {
        var r = await RunAsync("participant", "create", "--name", "P", "--site-id", siteId, "--roles", "generator");
        AssertOneLineError(r, message);
    }

    [Fact]
    public async Task Missing_required_options_are_reported()
    {
        var r = await RunAsync("participant", "create", "--site-id", "5");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--name", r.Err);
        Assert.Contains("--roles", r.Err);
    }

    [Fact]
    public async Task Optout_add_for_an_email_and_its_hash_store_the_same_first_level_hash()
    {
        var byEmail = await RunAsync("optout", "add", "--email", "Test.Test@gmail.com", "--json");
        Assert.Equal(0, byEmail.ExitCode);
        Assert.Equal("", byEmail.Err);
        var byHash = await RunAsync("optout", "add", "--email-hash", GmailHashBase64);
        Assert.Equal(0, byHash.ExitCode);
        Assert.Contains("Opted out email", byHash.Out);

        // The same identity: one opt-out row (the second command finds it; the latest time wins, and it is the same).
        var snapshot = await SnapshotAsync();
        var expected = ExpectedFirstLevelHash(Convert.FromBase64String(GmailHashBase64), snapshot.Salts!.FirstLevelSalt);
        var o = Assert.Single(snapshot.OptOuts);
        Assert.Equal(expected, o.FirstLevelHash);
        Assert.Equal(33, o.AdvertisingId.Length);
        Assert.Equal(0x00, o.AdvertisingId[0]); // UID2 email raw UID prefix
        Assert.Equal(Now, o.Timestamp);

        using var json = JsonDocument.Parse(byEmail.Out.Trim());
        Assert.Equal(snapshot.OptOuts[0].Id, json.RootElement.GetProperty("id").GetInt64());
        Assert.Equal(Convert.ToBase64String(expected), json.RootElement.GetProperty("firstLevelHash").GetString());
    }

    [Fact]
    public async Task Optout_add_accepts_a_hex_hash_and_phones()
    {
        var hex = Convert.ToHexString(Convert.FromBase64String(GmailHashBase64)).ToLowerInvariant();
        Assert.Equal(0, (await RunAsync("optout", "add", "--email-hash", hex)).ExitCode);
        Assert.Equal(0, (await RunAsync("optout", "add", "--phone", "+15551234567")).ExitCode);
        var phoneHash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("+15551234567")));
        Assert.Equal(0, (await RunAsync("optout", "add", "--phone-hash", phoneHash)).ExitCode);

        // The phone and its hash are one identity: two rows in all.
        var snapshot = await SnapshotAsync();
        Assert.Equal(2, snapshot.OptOuts.Count);
        Assert.Equal(ExpectedFirstLevelHash(Convert.FromBase64String(GmailHashBase64), snapshot.Salts!.FirstLevelSalt), snapshot.OptOuts[0].FirstLevelHash);
        var phoneFlh = ExpectedFirstLevelHash(Convert.FromBase64String(phoneHash), snapshot.Salts.FirstLevelSalt);
        Assert.Equal(phoneFlh, snapshot.OptOuts[1].FirstLevelHash);
        Assert.Equal(0x04, snapshot.OptOuts[1].AdvertisingId[0]); // UID2 phone raw UID prefix
    }

    [Theory]
    [InlineData(new[] { "--email", "not-an-email" }, "Invalid email")]
    [InlineData(new[] { "--email-hash", "abc" }, "Invalid email hash")]
    [InlineData(new[] { "--phone", "5551234567" }, "Invalid phone")]
    [InlineData(new[] { "--phone-hash", "zz" }, "Invalid phone hash")]
    [InlineData(new[] { "--email", "a@example.com", "--phone", "+15551234567" }, "exactly one")]
    [InlineData(new string[0], "exactly one")]
    public async Task Optout_add_rejects_bad_input(string[] options, string message)
    {
        var r = await RunAsync(["optout", "add", .. options]);
        AssertOneLineError(r, message);
        Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        if (File.Exists(DatabasePath))
            Assert.Empty((await SnapshotAsync()).OptOuts);
    }

    [Fact]
    public async Task Unsupported_or_malformed_connection_strings_fail_cleanly()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        // A PostgreSQL server that is not there: one clean line, no stack trace.
        var code = await Program.RunAsync(["--connection-string", "Host=127.0.0.1;Port=1;Database=uid2", "init"], output, error);
        Assert.Equal(1, code);
        Assert.StartsWith("error:", error.ToString());
        Assert.Contains("Failed to connect", error.ToString());
        Assert.DoesNotContain("   at ", error.ToString());

        error = new StringWriter();
        code = await Program.RunAsync(["--connection-string", "nonsense", "init"], output, error);
        Assert.Equal(1, code);
        Assert.Contains("Data Source", error.ToString());
        Assert.DoesNotContain("Parameter", error.ToString());
    }

    [Fact]
    public async Task Init_is_idempotent_and_help_works()
    {
        var first = await RunAsync("init", "--json");
        Assert.Equal(0, first.ExitCode);
        Assert.Equal("{\"created\":true}", first.Out.Trim());
        var second = await RunAsync("init", "--json");
        Assert.Equal("{\"created\":false}", second.Out.Trim());

        var help = await RunAsync("--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("participant", help.Out);
        Assert.Contains("optout", help.Out);
    }

    [Fact]
    public async Task Keys_ensure_and_salts_rotate_write_to_the_store()
    {
        Assert.Equal(0, (await RunAsync("participant", "create", "--name", "P", "--site-id", "9", "--roles", "generator")).ExitCode);
        var before = await SnapshotAsync();
        var keys = await RunAsync("keys", "ensure", "--json");
        Assert.Equal(0, keys.ExitCode);
        Assert.Equal("{\"added\":[]}", keys.Out.Trim());

        var rotate = await RunAsync("salts", "rotate", "--fraction", "0.25", "--json");
        Assert.Equal(0, rotate.ExitCode);
        Assert.Equal("{\"rotated\":256,\"buckets\":1024}", rotate.Out.Trim());
        var after = await SnapshotAsync();
        Assert.Equal(before.Salts!.FirstLevelSalt, after.Salts!.FirstLevelSalt);
        Assert.Equal(256, after.Salts.Buckets.Count(b => b.PreviousSalt is not null));

        AssertOneLineError(await RunAsync("salts", "rotate", "--fraction", "2"), "between 0 and 1");
    }
}
