using Uid2.Core.Keys;

namespace Uid2.Core.Tests.Tokens;

/// <summary>
/// Fixed bytes produced by the reference implementation, with the keys that open them. Nothing here was produced by this
/// code base. Sources (repository, file, test), at the commits read:
/// <list type="bullet">
/// <item>IABTechLab/uid2-client-java @ edbde03f, src/test/java/com/uid2/client/PublisherTests.java: the client secret, IV, nonce
/// and timestamp of the request envelopes (tests unhashedEmail, unhashedPhone, hashedEmail, hashedPhone; made by
/// encrypt_request.py with those fixed values), and two responses of a local uid2-operator (decryptGenerateResponse,
/// decryptRefreshResponse) whose identities hold operator-issued v2 advertising tokens and 388-char refresh tokens.</item>
/// <item>IABTechLab/uid2-operator @ 041aec1b (2022-05, the local test data of the operator that issued those responses),
/// src/main/resources/com.uid2.core/test/keys/keys.json: master key 3, site key 2 and refresh key 4. (The same file at later
/// commits changed key 3's secret; only these secrets open the tokens above, which is itself the check that they are the
/// keys that operator used.)</item>
/// <item>IABTechLab/uid2-operator @ ac64c26b, src/test/java/com/uid2/operator/UIDOperatorVerticleTest.java: the CSTG server key
/// pair (subscription 4WvryDGbR5) and the fixed client private/public key used by the cstg* tests.</item>
/// </list>
/// </summary>
internal static class ReferenceVectors
{
    // ---- uid2-operator test keys.json @ 041aec1b ------------------------------------------------------------------------
    public static readonly byte[] OperatorMasterKey3Secret = Convert.FromBase64String("2m4mNGTExXEq7IoIB6ZpKRB2NmdGP2grhsuHsKiziKQ=");
    public static readonly byte[] OperatorSiteKey2Secret = Convert.FromBase64String("RgyxkP4yP1gYhCINq7O9PxM6jX+etPqSQluZxjB1aG8=");
    public static readonly byte[] OperatorRefreshKey4Secret = Convert.FromBase64String("c2yMYeezHfDvZ6haknCFaj0t+eAEJp/C/uh+fUAm1fo=");

    // keys.json: created 1609459200, activates 1609469200, expires 1893456000 (epoch seconds); site_id -1 / 2 / -2.
    private static readonly DateTimeOffset KeyCreated = DateTimeOffset.FromUnixTimeSeconds(1609459200);
    private static readonly DateTimeOffset KeyActivates = DateTimeOffset.FromUnixTimeSeconds(1609469200);
    private static readonly DateTimeOffset KeyExpires = DateTimeOffset.FromUnixTimeSeconds(1893456000);

    public static readonly EncryptionKey OperatorMasterKey3 = new(3, ReservedSites.Master, KeyCreated, KeyActivates, KeyExpires, OperatorMasterKey3Secret);
    public static readonly EncryptionKey OperatorSiteKey2 = new(2, 2, KeyCreated, KeyActivates, KeyExpires, OperatorSiteKey2Secret);
    public static readonly EncryptionKey OperatorRefreshKey4 = new(4, ReservedSites.Refresh, KeyCreated, KeyActivates, KeyExpires, OperatorRefreshKey4Secret);
    public static readonly KeyRing OperatorRing = new([OperatorMasterKey3, OperatorSiteKey2, OperatorRefreshKey4]);

    // ---- uid2-client-java PublisherTests ---------------------------------------------------------------------------------
    /// <summary>PublisherTests.UID2_SECRET_KEY.</summary>
    public static readonly byte[] JavaClientSecret = Convert.FromBase64String("ioG3wKxAokmp+rERx6A4kM/13qhyolUXIu14WN16Spo=");
    /// <summary>PublisherTests.nonce ("312fe5aa08b2a049").</summary>
    public static readonly byte[] JavaNonce = Convert.FromHexString("312fe5aa08b2a049");
    /// <summary>PublisherTests.IV ("cc3ccaca9889eab3800e787e").</summary>
    public static readonly byte[] JavaIv = Convert.FromHexString("cc3ccaca9889eab3800e787e");
    /// <summary>createEnvelopeFromIdentityInput: Instant.ofEpochMilli(1667885597644L).</summary>
    public const long JavaTimestampMs = 1667885597644L;

    /// <summary>PublisherTests.unhashedEmail: the envelope of {"email":"test@example.com"}.</summary>
    public const string JavaEnvelopeUnhashedEmail = "Acw8ysqYieqzgA54fifdV1TB6V+da8p/AFc8Ju/IYrD77pL7JYMJj8YqD9EsrG3d2d2j0H7kZjH41YsNLpFVCH+oce28z9L9ug==";
    /// <summary>PublisherTests.unhashedPhone: the envelope of {"phone":"+12345678901"}.</summary>
    public const string JavaEnvelopeUnhashedPhone = "Acw8ysqYieqzgA54fifdV1TB6V+da8p/AFc8Ju/IYqX+4JXyJYMJ0JJrSKV84juIkIH33GCmx+7RM2pSX9P4nAN0pn2g";
    /// <summary>PublisherTests.hashedEmail: the envelope of {"email_hash":…} for user@example.com.</summary>
    public const string JavaEnvelopeHashedEmail =
        "Acw8ysqYieqzgA54fifdV1TB6V+da8p/AFc8Ju/IYrD77pL7WNFKiMt7QbM9mWHZwOWPyVTqSnDVNzhXRdcmIkV0ODOdll2inDo9iIZQ5oV2NvSUSWG5j6ACiXKH0JxiTPzs716eIH7P1Q==";
    /// <summary>PublisherTests.hashedPhone: the envelope of {"phone_hash":…} for +12345678901.</summary>
    public const string JavaEnvelopeHashedPhone =
        "Acw8ysqYieqzgA54fifdV1TB6V+da8p/AFc8Ju/IYqX+4JXyWNFKiMt7QbMMm27H3fmEq2zPRUnXdFpLTdVdc0RNWxOruBaarHYQksdqpbkVFa+walbcj6AClILBJjbDMl1IoeqJVG2fyw==";

    /// <summary>PublisherTests.decryptGenerateResponse: a local operator's v2 response (IV ‖ GCM(ts ‖ nonce ‖ JSON) ‖ tag)
    /// under <see cref="JavaClientSecret"/>, answering a request with <see cref="JavaNonce"/>.</summary>
    public const string JavaGenerateResponse =
        "RUlLWcXlSdRhpf82J8iDqeVFbZQx2MCcVaTjhf1gVPpSS3SfOMzfCB8tW8VHzY15b5ZN6FKlZ/3FjHi54H7uyyVp2BS7puWgzGiv5jxhp0hpP2"
        + "fL1KdmRs8UpX2XgmdEkfeYjTzFHFhq8SfocV2MIK8Gu4QtCtQdMg1Vk9fyeIOwgRUODkHnFZN8rcZIPDdqkZRS6Rftgdizss1FSkInYNpT2Cq0"
        + "7iIHVREmuJdZIinK0qDjIXcXUI3oE8WzdEtd/e4/8xEEZ4HRYuhNF640hX/O+ivBgygW/nqctAr6r9zYu65zs45UYClSUNaWsvE34IWq4q61T9"
        + "9z8etf81lS8E/PWrskOnH968azv0/FVFlLiKks0a1W1iDqq0/pps8LBq/Eo8ByadXQITDFwT6LN9qQE1lW4bGQrY3ZgALZQHsW1eAdaedaYwGO"
        + "hp81xLlrq9aRaKXdiLuil/lgUNQX51yW8U8izYIq8cue0cUMg/TDV+5YtcC5eZiQskTjMFkInjfDI8k5F5KGnVRfsj8w+mcXv0O9E7djTy6Mmt"
        + "4OQ1MxDFYuzptf3GnC7GK8VHpxHc84rOZADzBcgVOfYz4x8jA3fPVMkE08fMMpzH8OpH0riQHjk95rAF3KcOss5IvmPsUy+ZgCwOloWH+dwgYy"
        + "8CDTR3RYPA+zOmEk4bGwvy6hQ5JJwah43ba73IrWZpiANfyCFMr7PY1HFvp7fC+i8w8zLTxMcLgH0m8zXMJXo6IVJDhuQKM/ViSkS/ONatlQvb"
        + "tFehZfMwzPeD/mDmy1JAcvAAqmiAl13ULdNrIET9zyqmJVEaDEawVckomeIJoznbBS7WEFelcueYcXBi+Tl7qTlPL8UI4AjrzYp/sfMCvCoBtQ"
        + "nFYQAmChmE5OCpnE0X/uCa9oUK7HrVEqgBLft25w4d1mYtMV02gZ0SB/T2MA3BeSEp6RUKrYO63+/8eYUF4pEuQEjDcdRX6rxs9lpPPLKglnn9"
        + "VteJ61BjsLphwYxqwgdlHZhS6xSvqYveHwwe94QyOYeyiJiEqJ+QooUciWSyRXBfJdcE4inuzO4T/wZauocgw8ZiKJMAfPzXjSLdVNM/sosd0v"
        + "IhgXvlMpj+a+B4lbsfcVjRGrwU1VPZvHlubVCxJGieW7hQ8ugzpSYibMxxvhFBCyzjKHYodllp/umuq2KmoMdbB2lOsVFtZ3ufYs7cqSTcZIgP"
        + "FUXlEJs/hUFvTnUCfZ1vC+YNF4d7ngVvCdMYsOCLQNAZeMaVoSG8m/cvY2FT0MGAgLhuu+IGWMcGVYPUrjP6Hy9gpq/wEkRnnfDAo+ENmMQsYc"
        + "dzg+VNREZ4p4";

    /// <summary>PublisherTests.decryptRefreshResponse: the operator's answer to POST /v2/token/refresh with <see cref="GenerateRefreshToken"/>:
    /// IV ‖ GCM(JSON) ‖ tag (no timestamp, no nonce) under <see cref="GenerateRefreshResponseKey"/>.</summary>
    public const string JavaRefreshResponse =
        "suJBe05BsUlmulBse8Kuq6haiirs5O8wokoXQz8rxK047Q60vZQrWGy3+ufTwpIKpoMGLFGvVXpE8ifoN4Z34qPrGaJaVuCmcVTbQ8kkou/RwL"
        + "p+hjoXaaTBmlqVGGbVrBzFg14KMlZLKKEh7EfABSQeUvbi3TtOzbluHZn0jCri3qJEDnSFP4tXhGjJw5ufB4GiSGOzfuw6rvRrWh+FjpNein8i"
        + "jVNzA4MQAYMGrZEeKd639hCu5Q4tdkuOZKrkLTUPoeKNmt3moyQtKxztpPa/UCDJ/bOpIiLXI+vLScHG0ekhRq/5eQ7nFk3wUd9mlrA3f/+Myq"
        + "kaPSjIVYvmcpzC55qh0PXLXkOzhIrLUjaIP8UzU30us+pHL2exdUZrrh4w8Pp7MZkdYzEBvc7ZyeXObNzBJNED62T7GI5UxKAndMoSPxsewttZ"
        + "2MpAepfRQ9RH97eIX+Bg2KJa5WOOLK5KfVS01oKxXbwcCsGpw5sDAIiobrYdWWn9UMUhbFpbuqsmSWW4vFZR02RMHzif8N/vJkBLyvxSAlP363"
        + "QULrEVMOueG91MI1W9BICYvTM06ZHYt5dz2l1GkKu+OSKAaTLvCJAWsCDgowtJcHtl0kYmZBJn/yfcc3a8SQC1dv2el1l3DWG6J8Udrci6rmOz"
        + "ox0MqIWkBfOqEOHFOPpV8RqYTJVYuKEigYAiAvw7RFA7ZSCwJ3nhc6GUD7XoCK96Y/TrLud3gagxRUz4D+OZUidQP01LeVW9XfBi/UGxQC1WcZ"
        + "/AS7MF3byjXDJRR6MZRbTm4hkLJm1hQzGsiVNBbBR/qCwoaAI9PwvBKoZpujMzH3+HdUOubCw6sOCWfgO4cwn7TTyQAf9KJ1B6Tj+RNWe3HyIm"
        + "cCpfBMl8suMRh8cZX48r/Z3um4w0bNLog7L1VVA4J6G8EXvpDdkE/78mIdL7dNraZdioF/X/vP7efkDTHTLiJsGq7fZxGqqrFt/ENqhsgpq7pu"
        + "nMq8k96sDQ7ujVc4LN0M6qPqIYiC7lT4haXtdugFaKBZp80bbV5ZM1s0VH9nw7SgJUA9RZcxYkU5x77kY+i6fUK45bDC0x0j4lPpC027CgzJhG"
        + "ZffZyvRCPzXYDTa9s40JswKLnKf27HwwYCTJNsnIMRBJlUSnU/JqLvzYFIBSEa2SNsD4qlvdoWqo0bZvpDquqz2mH36w3u7j5L/CoTy7dcjORP"
        + "dC9/nJN/b+b/G5vjE5bcDtfek3Kc6n6ABjRnXYVstK43ghUeczUHzRwUjdX616pphGliP+bTZHtcfr2DBp2N5vMgxf4bMmhseDlzc=";

    /// <summary>PublisherTests.optOutRefreshResponse: {"status":"optout"} sealed (no nonce) under <see cref="OptOutRefreshResponseKey"/>.</summary>
    public const string JavaOptOutRefreshResponse = "d9I6qCdlJ6mkWYLyw2iGnCnJ5OocyQDtbbvW6YXAYKpxTXaOePQzPPJIrHnI7Io=";
    public const string OptOutRefreshResponseKey = "WL0AYr41Db9m6dCIPtQlTz2kE4NMx3nLmloGHkQPGSQ=";

    // The identity of decryptGenerateResponse (PublisherTests.expectedDecryptedJsonForTokenGenerateResponse).
    public const string GenerateAdvertisingToken =
        "AgAAAAN6QZRCFTau+sfOlMMUY2ftElFMq2TCrcu1EAaD9WmEfoT2BWm2ZKz1tumbT00tWLffRDQ/9POXfA0O/Ljszn7FLtG5EzTBM3HYs4f5ir"
        + "kqeEvu38DhVCxUEpI+gZZZkynRap1oYx6AmC/ip3rk+7pmqa3r3saDs1mPRSSTm+Nh6A==";
    public const string GenerateRefreshToken =
        "AAAAAARomrP3NjjH+8mt5djfTHbmRZXjOMnAN8WpjJoe30AhUCvYksO/xoDSj77GzWv4M99DhnPl2cVco8CZFTcE10nauXI4Barr890ILnH0II"
        + "acOei5Zjwh6DycFkoXkAAuHY1zjmxb7niGLfSP2RctWkZdRVGWQv/UW/grw6+paU9bnKEWPzVvLwwdW2NgjDKu+szE6A+b5hkY+I3voKoaz8/k"
        + "LDmX8ddJGLy/YOh/LIveBspSAvEg+v89OuUCwAqm8L3Rt8PxDzDnt0U4Na+AUawvvfsIhmsn/zMpRRks6GHhIAB/EQUHID8TedU8Hv1WFRsira"
        + "G9Dfn1Kc5/uYnDJhEagWc+7RgTGT+U5GqI6+afrAl5091eBLbmvXnXn9ts";
    public const string GenerateRefreshResponseKey = "P941vVeuyjaDRVnFQ8DPd0AZnW4bPeiJPXER2K9QXcU=";
    public const long GenerateIdentityExpiresMs = 1668059799628L;
    public const long GenerateRefreshExpiresMs = 1668142599628L;
    public const long GenerateRefreshFromMs = 1668056202628L;

    // The identity of decryptRefreshResponse.
    public const string RefreshedAdvertisingToken =
        "AgAAAANVKWUKoXWL9OdHdxoEhRlHC9BEJucY44HF3RmJHlXzjEJ/nvySkVFeRbo3W/2Mpe9qi4haYz6psljI6ZwUq8n6jPyAR0WK5LDrTxUPib"
        + "eaV9aZJoa6gNCKfJ/Z8tZtG/iWUbZkkDPmJiF7LTxqB1TQX0UvtLDbDbewsa+b+PJgEw==";
    public const string RefreshedRefreshToken =
        "AAAAAARS93G4B29nG5kXD5C97S5wGBJcGU3NXBYME+vMqlvvgXG4RuRt+UHG6fe7hiGoK7QtQVL1qj1SdpyuiJQHeM1PfRzk5vjXEv39wedDxQ"
        + "NWAnJsF6I6W6HPFCJADcUd/IEk2FKTq5+al5KwL9woU82WNCCt+n6ut29Bb/F3S/blW2G7/Q2i+tImcwuTTiAZ2uYzgg/t4HfB880rpa28E/cf"
        + "qJ3vsJHFGiDOUqU9JpNPFByOnxay5PQgkRlMjmea6ZfAwOCyFC69E51B3NZb3+mdx9zaHB4e6hCmk3BLPhSQzV3zOM1IRS4Rq2xO5EuEGEaSU1"
        + "K3iluXTXBAOoalbjj1qln+BCu0ohA9sqfEOC/hZcmYL0YEkPHLXW2C094g";
    public const string RefreshedRefreshResponseKey = "3df27Us3KXIy4LhebjNt0DDfF0N5zGXEQ1MmJ7jIU8o=";
    public const long RefreshedIdentityExpiresMs = 1668065878329L;
    public const long RefreshedRefreshExpiresMs = 1668148678329L;
    public const long RefreshedRefreshFromMs = 1668062281329L;

    // ---- uid2-operator UIDOperatorVerticleTest (CSTG) ----------------------------------------------------------------------
    public const string CstgSubscriptionId = "4WvryDGbR5";
    public const string CstgServerPublicKey =
        "UID2-X-L-MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsziOqRXZ7II0uJusaMxxCxlxgj8el/MUYLFMtWfB71Q3G1juyrAnzyqruNiPPnIuTETfFOridglP9UQNlwzNQg==";
    public const string CstgServerPrivateKey =
        "UID2-Y-L-MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCBop1Dw/IwDcstgicr/3tDoyR3OIpgAWgw8mD6oTO+1ug==";
    /// <summary>The client ("browser") key of cstgMissingRequiredField and the other cstg* tests: PKCS#8, no prefix.</summary>
    public const string CstgClientPrivateKey = "MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCDsqxZicsGytVqN2HZqNDHtV422Lxio8m1vlflq4Jb47Q==";
    /// <summary>The "public_key" those tests send (SPKI of <see cref="CstgClientPrivateKey"/>).</summary>
    public const string CstgClientPublicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE92+xlW2eIrXsDzV4cSfldDKxLXHsMmjLIqpdwOqJ29pWTNnZMaY2ycZHFpxbp6UlQ6vVSpKwImTKr3uikm9yCw==";
}
