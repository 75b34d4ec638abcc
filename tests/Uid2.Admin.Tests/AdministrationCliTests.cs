using System.Text.Json;

namespace Uid2.Admin.Tests;

/// <summary>Issue "Operate it for real": participants and API keys managed from the CLI, every action in the audit log.</summary>
public sealed class AdministrationCliTests : CliTestBase
{
    [Fact]
    public async Task Participants_can_be_listed_shown_disabled_enabled_renamed_and_given_roles()
    {
        var created = await RunAsync("participant", "create", "--name", "Pub", "--site-id", "41", "--roles", "generator", "--json");
        Assert.Equal(0, created.ExitCode);
        var secret = JsonDocument.Parse(created.Out).RootElement.GetProperty("secret").GetString()!;
        var apiKey = JsonDocument.Parse(created.Out).RootElement.GetProperty("apiKey").GetString()!;

        Assert.Equal(0, (await RunAsync("participant", "disable", "--site-id", "41")).ExitCode);
        Assert.False((await SnapshotAsync()).Participants.Single().Enabled);
        Assert.Equal(0, (await RunAsync("participant", "enable", "--site-id", "41")).ExitCode);
        Assert.Equal(0, (await RunAsync("participant", "set-roles", "--site-id", "41", "--roles", "generator,mapper")).ExitCode);
        Assert.Equal(0, (await RunAsync("participant", "set-name", "--site-id", "41", "--name", "Publisher 41")).ExitCode);
        var p = (await SnapshotAsync()).Participants.Single();
        Assert.True(p.Enabled);
        Assert.Equal("Publisher 41", p.Name);
        Assert.Equal(Core.Auth.Role.Generator | Core.Auth.Role.Mapper, p.Roles);

        var list = await RunAsync("participant", "list", "--json");
        var listed = JsonDocument.Parse(list.Out).RootElement.GetProperty("participants").EnumerateArray().Single();
        Assert.Equal(41, listed.GetProperty("siteId").GetInt32());
        Assert.Single(listed.GetProperty("apiKeys").EnumerateArray());
        var show = await RunAsync("participant", "show", "--site-id", "41");
        Assert.Contains("Publisher 41", show.Out);
        foreach (var output in new[] { list.Out, show.Out })
        {
            Assert.DoesNotContain(secret, output);
            Assert.DoesNotContain(apiKey, output);
        }

        var missing = await RunAsync("participant", "disable", "--site-id", "99");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No participant with site id 99", missing.Err);
    }

    [Fact]
    public async Task Keysets_are_shared_with_sites_and_types_and_allowances_can_be_revoked()
    {
        foreach (var site in new[] { "51", "52", "53" })
            Assert.Equal(0, (await RunAsync("participant", "create", "--name", "Sharer " + site, "--site-id", site, "--roles", "sharer")).ExitCode);
        Assert.Equal(0, (await RunAsync("participant", "set-types", "--site-id", "53", "--types", "dsp,DATA_PROVIDER")).ExitCode);
        Assert.Equal(Storage.ClientTypes.Dsp | Storage.ClientTypes.DataProvider, (await SnapshotAsync()).Participants.Single(p => p.SiteId == 53).Types);

        var allowed = await RunAsync("keyset", "allow", "--site-id", "51", "--sites", "52");
        Assert.Equal(0, allowed.ExitCode);
        Assert.Contains("its owner and sites 52", allowed.Out);
        Assert.Equal(0, (await RunAsync("keyset", "allow", "--site-id", "51", "--types", "DSP")).ExitCode);
        var shown = JsonDocument.Parse((await RunAsync("keyset", "show", "--keyset-id", "51", "--json")).Out).RootElement.GetProperty("keyset");
        Assert.Equal([52], shown.GetProperty("allowedSites").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("DSP", shown.GetProperty("allowedTypes").GetString());
        Assert.Contains("52, 53", shown.GetProperty("sharedWith").GetString()); // 53 by its type

        Assert.Equal(0, (await RunAsync("keyset", "disallow", "--site-id", "51", "--sites", "52", "--types", "dsp")).ExitCode);
        var sharing = (await SnapshotAsync()).Keysets!.Single(k => k.SiteId == 51);
        Assert.Empty(sharing.AllowedSites!);
        Assert.Equal(Storage.ClientTypes.None, sharing.AllowedTypes);

        Assert.Equal(0, (await RunAsync("keyset", "disable", "--site-id", "51")).ExitCode);
        Assert.False((await SnapshotAsync()).Keysets!.Single(k => k.SiteId == 51).Enabled);
        Assert.Equal(0, (await RunAsync("keyset", "reset", "--site-id", "51")).ExitCode);
        Assert.Null((await SnapshotAsync()).Keysets!.Single(k => k.SiteId == 51).AllowedSites);

        Assert.Equal(1, (await RunAsync("keyset", "allow", "--site-id", "51", "--sites", "abc")).ExitCode);
        Assert.Equal(1, (await RunAsync("keyset", "allow", "--site-id", "99", "--sites", "52")).ExitCode);
        Assert.Equal(1, (await RunAsync("participant", "set-types", "--site-id", "51", "--types", "broker")).ExitCode);
        var audit = await RunAsync("audit", "list", "--json");
        Assert.Contains("keyset.allow", audit.Out);
        Assert.Contains("keyset.disallow", audit.Out);
    }

    [Fact]
    public async Task A_participant_holds_several_api_keys_and_a_revoked_one_is_disabled()
    {
        Assert.Equal(0, (await RunAsync("participant", "create", "--name", "Pub", "--site-id", "42", "--roles", "generator,optout")).ExitCode);
        var issued = await RunAsync("apikey", "issue", "--site-id", "42", "--roles", "generator", "--json");
        Assert.Equal(0, issued.ExitCode);
        var json = JsonDocument.Parse(issued.Out).RootElement;
        var keyId = json.GetProperty("keyId").GetString()!;
        Assert.StartsWith(keyId, json.GetProperty("apiKey").GetString());

        var keys = (await SnapshotAsync()).ApiKeys;
        Assert.Equal(2, keys.Count);
        Assert.Equal(Core.Auth.Role.Generator, keys.Single(k => k.KeyId == keyId).Roles);

        var list = await RunAsync("apikey", "list", "--site-id", "42", "--json");
        Assert.Equal(2, JsonDocument.Parse(list.Out).RootElement.GetProperty("apiKeys").GetArrayLength());
        Assert.DoesNotContain(json.GetProperty("apiKey").GetString()!, list.Out);
        Assert.DoesNotContain(json.GetProperty("secret").GetString()!, list.Out);

        Assert.Equal(0, (await RunAsync("apikey", "revoke", "--key-id", keyId)).ExitCode);
        Assert.True((await SnapshotAsync()).ApiKeys.Single(k => k.KeyId == keyId).Disabled);
        Assert.False((await SnapshotAsync()).ApiKeys.Single(k => k.KeyId != keyId).Disabled);
        Assert.Equal(1, (await RunAsync("apikey", "revoke", "--key-id", "UID2-C-L-42-nokey")).ExitCode);
    }

    [Fact]
    public async Task Every_administrative_action_is_in_the_audit_log_with_its_outcome_and_no_secret()
    {
        var created = await RunAsync("participant", "create", "--name", "Pub", "--site-id", "43", "--roles", "generator", "--json");
        var secret = JsonDocument.Parse(created.Out).RootElement.GetProperty("secret").GetString()!;
        var apiKey = JsonDocument.Parse(created.Out).RootElement.GetProperty("apiKey").GetString()!;
        var issued = JsonDocument.Parse((await RunAsync("apikey", "issue", "--site-id", "43", "--json")).Out).RootElement;
        await RunAsync("apikey", "revoke", "--key-id", issued.GetProperty("keyId").GetString()!);
        await RunAsync("participant", "disable", "--site-id", "404"); // refused
        await RunAsync("optout", "add", "--email", "audited@example.com");
        await RunAsync("salts", "rotate", "--fraction", "0.01");

        var audit = await RunAsync("audit", "list", "--json");
        Assert.Equal(0, audit.ExitCode);
        var entries = JsonDocument.Parse(audit.Out).RootElement.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(["salt.rotate", "optout.add", "participant.disable", "apikey.revoke", "apikey.issue", "participant.create"],
            entries.Select(e => e.GetProperty("action").GetString()));
        Assert.All(entries, e => Assert.StartsWith("cli:", e.GetProperty("actor").GetString()));
        Assert.StartsWith("refused: No participant", entries[2].GetProperty("outcome").GetString());
        Assert.Equal("ok", entries[3].GetProperty("outcome").GetString());
        foreach (var secretText in new[] { secret, apiKey, issued.GetProperty("apiKey").GetString()!, issued.GetProperty("secret").GetString()!, "audited@example.com" })
            Assert.DoesNotContain(secretText, audit.Out);
    }
}

/// <summary>Issue "Operate it for real": opt-outs looked up by email, phone, hash or raw UID2, and counted.</summary>
public sealed class OptOutLookupCliTests : CliTestBase
{
    [Fact]
    public async Task An_opt_out_is_found_by_its_email_its_hash_and_its_raw_uid_and_counted()
    {
        var added = await RunAsync("optout", "add", "--email", "Look.Up@example.com", "--json");
        Assert.Equal(0, added.ExitCode);
        var json = JsonDocument.Parse(added.Out).RootElement;
        var since = json.GetProperty("timestamp").GetInt64();
        var rawUid = json.GetProperty("advertisingId").GetString()!;
        var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData("look.up@example.com"u8));

        foreach (var args in new[] { new[] { "--email", "look.up@example.com" }, ["--email-hash", hash], ["--raw-uid", rawUid] })
        {
            var found = await RunAsync(["optout", "lookup", .. args, "--json"]);
            Assert.Equal(0, found.ExitCode);
            var result = JsonDocument.Parse(found.Out).RootElement;
            Assert.True(result.GetProperty("optedOut").GetBoolean(), string.Join(' ', args));
            Assert.Equal(since, result.GetProperty("since").GetInt64());
        }
        var other = await RunAsync("optout", "lookup", "--phone", "+15550000000");
        Assert.Equal("Not opted out.", other.Out.Trim());
        Assert.Equal(1, (await RunAsync("optout", "lookup", "--raw-uid", "bm90IGEgdWlk")).ExitCode);

        await RunAsync("optout", "add", "--phone", "+15550000000");
        Assert.Equal(2, JsonDocument.Parse((await RunAsync("optout", "count", "--json")).Out).RootElement.GetProperty("count").GetInt32());
    }
}
