using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Proof;
using HbOps.Engine.Records;
using HbOps.Engine.RowCounts;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

public class ContentFingerprintTests
{
    private static HbContentFingerprintSnapshot Snap(params (string S, string T, long Rows, string A, string B)[] rows) => new()
    {
        Mode = HbFingerprintMode.All, Algorithm = ContentFingerprint.HashTextAlgorithm,
        Tables = rows.Select(r => new HbTableFingerprint { Schema = r.S, Table = r.T, Rows = r.Rows, Sum0 = r.A, Sum1 = r.B }).ToList(),
    };

    [Fact]
    public void Compare_names_equal_different_and_missing_tables()
    {
        var a = Snap(("public", "a", 10, "123", "-4"), ("public", "b", 5, "1", "2"), ("app", "only_left", 1, "1", "1"));
        var b = Snap(("public", "a", 10, "123", "-4"), ("public", "b", 5, "1", "3"), ("app", "only_right", 2, "2", "2"));
        var c = ContentFingerprint.Compare(a, RowCountSource.ArtefactSnapshot, b, RowCountSource.Sandbox);
        Assert.Equal(new[] { "app.only_left", "app.only_right", "public.a", "public.b" }, c.Select(x => x.QualifiedName));
        Assert.Equal(HbContentStatus.Equal, c.Single(x => x.Table == "a").Status);
        var changed = c.Single(x => x.Table == "b");
        Assert.Equal(HbContentStatus.Different, changed.Status);
        Assert.Equal(5, changed.ReferenceRows);
        Assert.Equal(5, changed.DifferenceRows);
        Assert.NotEqual(changed.ReferenceDigest, changed.DifferenceDigest);
        Assert.Equal(HbContentStatus.Missing, c.Single(x => x.Table == "only_left").Status);
        Assert.Null(c.Single(x => x.Table == "only_left").DifferenceRows);
        Assert.Equal(ContentFingerprint.HashTextAlgorithm, c[0].Algorithm);
        var text = ContentFingerprint.DescribeDifferences(c);
        Assert.Contains("public.b (rows 5 -> 5, fingerprint", text);
        Assert.Contains("app.only_left (missing on the Sandbox side)", text);
        Assert.Contains("app.only_right (missing on the ArtefactSnapshot side)", text);
    }

    [Fact]
    public void A_digest_depends_on_rows_and_both_sums()
    {
        var d = HbTableFingerprint.DigestOf(3, "10", "20");
        Assert.Matches("^[0-9a-f]{16}$", d);
        Assert.NotEqual(d, HbTableFingerprint.DigestOf(4, "10", "20"));
        Assert.NotEqual(d, HbTableFingerprint.DigestOf(3, "11", "20"));
        Assert.NotEqual(d, HbTableFingerprint.DigestOf(3, "10", "21"));
    }

    [Fact]
    public void Parse_reads_sums_beyond_64_bits_and_rejects_malformed_values()
    {
        var t = ContentFingerprint.Parse("""[{"s":"proof","t":"readings","f":"3069:-676057757595905543198:170596680514137764166"},{"s":"app","t":"empty_table","f":"0:0:0"}]""");
        Assert.Equal(3069, t[0].Rows);
        Assert.Equal("-676057757595905543198", t[0].Sum0);
        Assert.Equal("170596680514137764166", t[0].Sum1);
        Assert.Equal(0, t[1].Rows);
        var ex = Assert.Throws<HbOpsException>(() => ContentFingerprint.Parse("""[{"s":"a","t":"b","f":"x:1"}]"""));
        Assert.Equal(HbErrorIds.QueryFailed, ex.ErrorId);
    }

    [Fact]
    public void The_query_reads_every_countable_table_once_each_in_one_statement_with_quoted_names()
    {
        var sql = ContentFingerprint.BuildSelect(ContentFingerprint.HashTextAlgorithm, new[] { "public.o'brien" });
        Assert.Contains(RowCounter.TableFilter, sql);
        Assert.Contains("'public.o''brien'", sql);
        Assert.Contains("hashtextextended(r, 0)", sql);
        Assert.Contains("hashtextextended(r, 1)", sql);
        // The row's text is produced once (OFFSET 0 keeps the subquery) and never sorted.
        Assert.Contains("OFFSET 0", sql);
        Assert.DoesNotContain("ORDER BY t", sql);
        Assert.Contains("md5(t::text)", ContentFingerprint.BuildSelect(ContentFingerprint.Md5Algorithm));
        Assert.Equal(ContentFingerprint.HashTextAlgorithm, ContentFingerprint.AlgorithmFor(11));
        Assert.Equal(ContentFingerprint.Md5Algorithm, ContentFingerprint.AlgorithmFor(10));
        Assert.Equal(HbErrorIds.InvalidArgument, Assert.Throws<HbOpsException>(() => ContentFingerprint.BuildSelect("nope")).ErrorId);
    }

    [Fact]
    public void Shares_of_a_table_add_up_exactly_beyond_64_bits()
    {
        var total = ContentFingerprint.Add(new[]
        {
            new List<HbTableFingerprint> { new() { Schema = "p", Table = "r", Rows = 2, Sum0 = "9223372036854775807", Sum1 = "-5" }, new() { Schema = "a", Table = "b", Rows = 1, Sum0 = "1", Sum1 = "1" } },
            new List<HbTableFingerprint> { new() { Schema = "p", Table = "r", Rows = 3, Sum0 = "9223372036854775807", Sum1 = "5" } },
        });
        Assert.Equal(new[] { "a.b", "p.r" }, total.Select(t => t.QualifiedName));
        Assert.Equal(5, total[1].Rows);
        Assert.Equal("18446744073709551614", total[1].Sum0);
        Assert.Equal("0", total[1].Sum1);
        var shared = ContentFingerprint.BuildSelect(ContentFingerprint.HashTextAlgorithm, null, (0, 2));
        Assert.Contains("WHERE t.ctid >= %L::tid AND t.ctid < %L::tid", shared);
        Assert.Contains("pg_partition_tree(c.oid)", shared);
        Assert.DoesNotContain("t.ctid < ", ContentFingerprint.BuildSelect(ContentFingerprint.HashTextAlgorithm, null, (1, 2)));
        Assert.DoesNotContain("ctid", ContentFingerprint.BuildSelect(ContentFingerprint.HashTextAlgorithm));
    }

    [Fact]
    public void Text_forms_are_pinned_for_every_type_whose_output_a_setting_changes()
    {
        var sql = TextFormSettings.SetLocalSql;
        foreach (var s in new[] { "TimeZone = 'UTC'", "DateStyle = 'ISO, MDY'", "IntervalStyle = 'postgres'", "extra_float_digits = '3'",
                     "bytea_output = 'hex'", "lc_monetary = 'C'", "search_path = 'pg_catalog'", "row_security = 'off'" })
        {
            Assert.Contains("SET LOCAL " + s + ";", sql);
        }
    }

    [Fact]
    public void The_fingerprint_mode_follows_the_row_counts_unless_given()
    {
        Assert.Equal(HbFingerprintMode.All, SnapshotProof.EffectiveFingerprint(new BackupRequest()));
        Assert.Equal(HbFingerprintMode.None, SnapshotProof.EffectiveFingerprint(new BackupRequest { RowCounts = RowCountMode.None }));
        Assert.Equal(HbFingerprintMode.All, SnapshotProof.EffectiveFingerprint(new BackupRequest { RowCounts = RowCountMode.None, Fingerprint = HbFingerprintMode.All }));
        Assert.False(SnapshotProof.NeedsSnapshot(new BackupRequest { RowCounts = RowCountMode.None }));
        Assert.True(SnapshotProof.NeedsSnapshot(new BackupRequest { RowCounts = RowCountMode.None, Fingerprint = HbFingerprintMode.All }));
        var ex = Assert.Throws<HbOpsException>(() => SnapshotProof.Validate(new BackupRequest { Fingerprint = HbFingerprintMode.KeyTables }));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
        SnapshotProof.Validate(new BackupRequest { Fingerprint = HbFingerprintMode.KeyTables, KeyTables = new[] { "public.dot_tools" } });
    }

    [Fact]
    public void Fingerprints_and_catalog_round_trip_through_the_manifest()
    {
        var a = new HbBackupArtefact
        {
            ContentFingerprints = Snap(("proof", "readings", 3069, "-676057757595905543198", "170596680514137764166")),
            Catalog = new HbCatalogSnapshot
            {
                ServerVersionNum = 150018,
                Objects = { new HbCatalogObject { Kind = HbCatalogObjectKind.Table, Schema = "proof", Name = "readings", Detail = "b290d097dd7ba99c", Owner = "directus",
                    Privileges = "{directus=arwdDxt/directus,workflow_admin=r/directus}" } },
            },
        };
        a.Catalog.Objects.Add(new HbCatalogObject { Kind = HbCatalogObjectKind.Table, Schema = "odd|schema", Name = "line\nbreak \\ back", Detail = "" });
        var yaml = HbYaml.Serialize(a);
        Assert.DoesNotContain("digest:", yaml);
        // One line per object and per table (compact, quick to list), not a mapping each.
        Assert.Contains("- Table|proof|readings|b290d097dd7ba99c|directus|{directus=arwdDxt/directus,workflow_admin=r/directus}", yaml);
        Assert.Contains("- proof|readings|3069|-676057757595905543198|170596680514137764166", yaml);
        Assert.DoesNotContain("objects:", yaml);
        Assert.DoesNotContain("sum0:", yaml);
        var b = BackupEngine.ParseManifest(yaml);
        Assert.Equal("odd|schema", b.Catalog!.Objects[1].Schema);
        Assert.Equal("line\nbreak \\ back", b.Catalog.Objects[1].Name);
        Assert.Null(b.Catalog.Objects[1].Owner);
        var t = b.ContentFingerprints!.Tables.Single();
        Assert.True(t.SameContentAs(a.ContentFingerprints.Tables[0]));
        Assert.Equal(a.ContentFingerprints.Tables[0].Digest, t.Digest);
        Assert.Equal("{directus=arwdDxt/directus,workflow_admin=r/directus}", b.Catalog!.Objects[0].Privileges);
        Assert.Equal(HbCatalogObjectKind.Table, b.Catalog.Objects[0].Kind);
    }
}

public class CatalogCompareTests
{
    private static HbCatalogObject O(HbCatalogObjectKind k, string s, string n, string d = "d", string? owner = null, string? acl = null) =>
        new() { Kind = k, Schema = s, Name = n, Detail = d, Owner = owner, Privileges = acl };

    private static HbCatalogSnapshot Cat(int num, params HbCatalogObject[] objects) => new() { ServerVersionNum = num, Objects = objects.ToList() };

    private static readonly CatalogSides IntoSandbox = new() { ReferenceSource = RowCountSource.ArtefactSnapshot, DifferenceSource = RowCountSource.Sandbox, RestoreUser = "directus" };

    private static HbCatalogDifference Single(HbCatalogComparison c, string name) => Assert.Single(c.Differences, d => d.Name == name);

    [Fact]
    public void Owners_grants_and_a_mapping_for_a_missing_role_are_expected_after_a_restore()
    {
        var prod = Cat(150018,
            O(HbCatalogObjectKind.Table, "proof", "reading_log", owner: "workflow_admin"),
            O(HbCatalogObjectKind.Table, "proof", "readings", owner: "directus", acl: "{directus=arwdDxt/directus,workflow_admin=r/directus}"),
            O(HbCatalogObjectKind.UserMapping, "", "workflow_remote for workflow_admin", ""),
            O(HbCatalogObjectKind.UserMapping, "", "workflow_remote for directus", ""),
            O(HbCatalogObjectKind.Table, "app", "orders", owner: "etl_owner"));
        var sandbox = Cat(150018,
            O(HbCatalogObjectKind.Table, "proof", "reading_log", owner: "directus"),
            O(HbCatalogObjectKind.Table, "proof", "readings", owner: "directus"),
            O(HbCatalogObjectKind.Table, "app", "orders", owner: "someone_else"));
        var c = CatalogSnapshot.Compare(prod, sandbox, IntoSandbox);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "reading_log").Classification);
        Assert.Equal(HbCatalogChange.Owner, Single(c, "reading_log").Change);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "readings").Classification);
        Assert.Equal(HbCatalogChange.Privileges, Single(c, "readings").Change);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "workflow_remote for workflow_admin").Classification);
        // A mapping for the restoring role itself had its role: its absence is not explained.
        Assert.Equal(HbDifferenceClass.Unexpected, Single(c, "workflow_remote for directus").Classification);
        // An owner that is not the restoring role is not what --no-owner does.
        Assert.Equal(HbDifferenceClass.Unexpected, Single(c, "orders").Classification);
        Assert.Equal(2, c.UnexpectedCount);
        Assert.Equal(3, c.ExpectedCount);
    }

    [Fact]
    public void Missing_extra_and_changed_objects_are_unexpected_within_one_major()
    {
        var prod = Cat(150018,
            O(HbCatalogObjectKind.Function, "proof", "log_reading()", "aaa"),
            O(HbCatalogObjectKind.View, "app", "open_orders", "v1"),
            O(HbCatalogObjectKind.Index, "app", "orders_customer_idx", "i1"));
        var sandbox = Cat(150018,
            O(HbCatalogObjectKind.View, "app", "open_orders", "v2"),
            O(HbCatalogObjectKind.Index, "app", "orders_customer_idx", "i1"),
            O(HbCatalogObjectKind.Table, "public", "surprise"));
        var c = CatalogSnapshot.Compare(prod, sandbox, IntoSandbox);
        Assert.Equal(HbCatalogChange.Missing, Single(c, "log_reading()").Change);
        Assert.Equal(HbCatalogChange.Definition, Single(c, "open_orders").Change);
        Assert.Equal(HbCatalogChange.Extra, Single(c, "surprise").Change);
        Assert.All(c.Differences, d => Assert.Equal(HbDifferenceClass.Unexpected, d.Classification));
        var text = CatalogSnapshot.DescribeUnexpected(c);
        Assert.Contains("Function proof.log_reading() missing on the Sandbox side", text);
        Assert.Contains("View app.open_orders definition 'v1' -> 'v2'", text);
        // Counts per schema and kind, both sides.
        var views = Assert.Single(c.Counts, x => x.Schema == "app" && x.Kind == HbCatalogObjectKind.View);
        Assert.True(views.Match);
        var functions = Assert.Single(c.Counts, x => x.Schema == "proof" && x.Kind == HbCatalogObjectKind.Function);
        Assert.Equal(1, functions.Reference);
        Assert.Equal(0, functions.Difference);
    }

    [Fact]
    public void A_sequence_ahead_is_expected_and_one_behind_is_unexpected()
    {
        var prod = Cat(150018, O(HbCatalogObjectKind.Sequence, "proof", "invoice_no_seq", "9000"), O(HbCatalogObjectKind.Sequence, "app", "s2", "10"),
            O(HbCatalogObjectKind.Sequence, "app", "s3", "not called"), O(HbCatalogObjectKind.Sequence, "app", "s4", "5"));
        var sandbox = Cat(150018, O(HbCatalogObjectKind.Sequence, "proof", "invoice_no_seq", "1"), O(HbCatalogObjectKind.Sequence, "app", "s2", "12"),
            O(HbCatalogObjectKind.Sequence, "app", "s3", "3"), O(HbCatalogObjectKind.Sequence, "app", "s4", "not called"));
        var c = CatalogSnapshot.Compare(prod, sandbox, IntoSandbox);
        Assert.Equal(HbDifferenceClass.Unexpected, Single(c, "invoice_no_seq").Classification);
        Assert.Contains("behind", Single(c, "invoice_no_seq").Reason);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "s2").Classification);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "s3").Classification);
        Assert.Equal(HbDifferenceClass.Unexpected, Single(c, "s4").Classification);
    }

    [Fact]
    public void The_image_explains_extension_versions_amcheck_and_a_newer_majors_rendering_but_not_missing_objects()
    {
        var prod = Cat(150018, O(HbCatalogObjectKind.Extension, "public", "postgres_fdw", "1.1"), O(HbCatalogObjectKind.MaterializedView, "app", "daily_revenue", "m15"),
            O(HbCatalogObjectKind.Trigger, "app", "customers.customers_touch", "t"));
        var sandbox = Cat(170012, O(HbCatalogObjectKind.Extension, "public", "postgres_fdw", "1.2"), O(HbCatalogObjectKind.MaterializedView, "app", "daily_revenue", "m17"),
            O(HbCatalogObjectKind.Extension, "pg_catalog", "amcheck", "1.4"));
        var c = CatalogSnapshot.Compare(prod, sandbox, IntoSandbox);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "postgres_fdw").Classification);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "amcheck").Classification);
        Assert.Contains("newer major (17)", Single(c, "daily_revenue").Reason);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "daily_revenue").Classification);
        Assert.Equal(HbDifferenceClass.Unexpected, Single(c, "customers.customers_touch").Classification);
    }

    [Fact]
    public void Spellings_of_one_locale_agree_and_another_locale_is_unexpected()
    {
        var prod = Cat(150018, O(HbCatalogObjectKind.Database, "", "lc_collate", "en_US.utf8"), O(HbCatalogObjectKind.Database, "", "lc_ctype", "en_US.utf8"));
        var same = Cat(150018, O(HbCatalogObjectKind.Database, "", "lc_collate", "en_US.UTF-8"), O(HbCatalogObjectKind.Database, "", "lc_ctype", "en_US.UTF-8"));
        Assert.Empty(CatalogSnapshot.Compare(prod, same, IntoSandbox).Differences);
        var other = Cat(150018, O(HbCatalogObjectKind.Database, "", "lc_collate", "C.UTF-8"), O(HbCatalogObjectKind.Database, "", "lc_ctype", "en_US.UTF-8"));
        var d = Assert.Single(CatalogSnapshot.Compare(prod, other, IntoSandbox).Differences);
        Assert.Equal(HbDifferenceClass.Unexpected, d.Classification);
        Assert.Contains("locale", d.Reason);
    }

    [Fact]
    public void Grants_hbops_made_for_its_assertion_role_are_expected_and_others_are_not()
    {
        var prod = Cat(150018, O(HbCatalogObjectKind.Schema, "app", "app", "", "directus"), O(HbCatalogObjectKind.Table, "app", "t", owner: "directus"));
        var sandbox = Cat(150018, O(HbCatalogObjectKind.Schema, "app", "app", "", "directus", "{directus=UC/directus,hbops_assertion=U/directus}"),
            O(HbCatalogObjectKind.Table, "app", "t", owner: "directus", acl: "{directus=arwdDxt/directus,mallory=r/directus}"));
        var c = CatalogSnapshot.Compare(prod, sandbox, IntoSandbox);
        Assert.Equal(HbDifferenceClass.Expected, Single(c, "app").Classification);
        Assert.Equal(HbDifferenceClass.Unexpected, Single(c, "t").Classification);
    }

    [Fact]
    public void Objects_initdb_makes_keep_the_sandbox_bootstrap_superusers_name_and_that_is_expected()
    {
        // A restoring role initdb cannot make is created beside the bootstrap superuser 'postgres', who then owns plpgsql and public.
        var prod = Cat(140010, O(HbCatalogObjectKind.Extension, "pg_catalog", "plpgsql", "1.0", "directus"),
            O(HbCatalogObjectKind.Schema, "public", "public", "", "directus", "{directus=UC/directus,=UC/directus}"),
            O(HbCatalogObjectKind.Schema, "app", "app", "", "directus", "{directus=UC/directus,=U/directus}"));
        var sandbox = Cat(140010, O(HbCatalogObjectKind.Extension, "pg_catalog", "plpgsql", "1.0", "postgres"),
            O(HbCatalogObjectKind.Schema, "public", "public", "", "postgres", "{postgres=UC/postgres,=UC/postgres}"),
            O(HbCatalogObjectKind.Schema, "app", "app", "", "postgres", "{postgres=UC/postgres,=U/postgres}"));
        var c = CatalogSnapshot.Compare(prod, sandbox, new CatalogSides { RestoreUser = "q'uote" });
        Assert.All(c.Differences.Where(d => d.Schema != "app"), d => Assert.Equal(HbDifferenceClass.Expected, d.Classification));
        Assert.Equal(3, c.Differences.Count(d => d.Schema != "app"));
        // A schema the dump creates belongs to the restoring role; anyone else is not explained.
        Assert.All(c.Differences.Where(d => d.Schema == "app"), d => Assert.Equal(HbDifferenceClass.Unexpected, d.Classification));
    }

    [Fact]
    public void Between_two_live_productions_nothing_is_explained_by_a_restore()
    {
        var before = Cat(150018, O(HbCatalogObjectKind.Table, "proof", "reading_log", owner: "workflow_admin"), O(HbCatalogObjectKind.Sequence, "proof", "s", "5"));
        var after = Cat(150018, O(HbCatalogObjectKind.Table, "proof", "reading_log", owner: "directus"), O(HbCatalogObjectKind.Sequence, "proof", "s", "9"));
        var c = CatalogSnapshot.Compare(before, after, new CatalogSides { ReferenceSource = RowCountSource.ArtefactSnapshot, DifferenceSource = RowCountSource.Production, RestoreUser = "directus" });
        Assert.Equal(2, c.UnexpectedCount);
    }
}

public class AmcheckRunnerTests
{
    [Fact]
    public void Reads_failures_relations_and_pages_from_pg_amcheck_output()
    {
        var result = new HbAmcheckResult { ExitCode = 2 };
        AmcheckRunner.Read(result,
            "btree index \"directus.public.hbops_test_corrupt_idx\":\n    ERROR:  heap tuple (0,1) from table \"dot_tools\" lacks matching index tuple within index \"hbops_test_corrupt_idx\"\n    HINT:  Retrying verification using the function bt_index_parent_check() might provide a more specific error.\n" +
            "heap table \"directus.app.orders\", block 3, offset 7, attribute 2:\n    toast value 16423 not found in toast table\n",
            "  0/437 relations (0%),     0/14129 pages (0%)\r437/437 relations (100%), 14129/14129 pages (100%)\n");
        Assert.Equal(HbCheckStatus.Failed, result.Status);
        Assert.Equal(437, result.RelationsChecked);
        Assert.Equal(14129, result.PagesChecked);
        Assert.Equal(2, result.Failures.Count);
        Assert.Equal("btree index", result.Failures[0].RelationKind);
        Assert.Equal("directus.public.hbops_test_corrupt_idx", result.Failures[0].Relation);
        Assert.Contains("lacks matching index tuple", result.Failures[0].Message);
        Assert.Equal("heap table", result.Failures[1].RelationKind);
        Assert.Equal("block 3, offset 7, attribute 2", result.Failures[1].Location);
        Assert.Contains("hbops_test_corrupt_idx", result.Message);
    }

    [Fact]
    public void A_clean_run_passes_and_a_missing_pg_amcheck_fails_with_the_reason()
    {
        var ok = new HbAmcheckResult { ExitCode = 0, HeapAllIndexed = true };
        AmcheckRunner.Read(ok, "", "12/12 relations (100%), 40/40 pages (100%)\n");
        Assert.Equal(HbCheckStatus.Passed, ok.Status);
        Assert.Contains("every heap tuple found in its indexes", ok.Message);
        var missing = new HbAmcheckResult { ExitCode = 126 };
        AmcheckRunner.Read(missing, "", "OCI runtime exec failed: exec failed: unable to start container process: exec: \"pg_amcheck\": executable file not found in $PATH: unknown\n");
        Assert.Equal(HbCheckStatus.Failed, missing.Status);
        Assert.Contains("could not check", missing.Message);
        Assert.Contains("executable file not found", missing.Message);
    }

    [Fact]
    public void Checks_the_database_by_name_without_a_maintenance_database()
    {
        var argv = AmcheckRunner.Argv("directus", "directus", true, 2);
        Assert.Equal("directus", argv[^1]);
        Assert.Contains("--heapallindexed", argv);
        Assert.Contains("--install-missing", argv);
        Assert.DoesNotContain("-d", argv);
        Assert.DoesNotContain("--heapallindexed", AmcheckRunner.Argv("u", "d", false, 1));
    }
}

public class RestoreHistoryTests
{
    private static HbRestoreHistoryEntry E(string target, int day, double seconds, long size, int tables, HbRestoreOutcome result = HbRestoreOutcome.Passed) => new()
    {
        Target = target, StartedUtc = new DateTime(2026, 5, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(day), DurationSeconds = seconds, SizeBytes = size, TableCount = tables, Result = result,
    };

    [Fact]
    public void Trends_per_target_show_first_latest_median_slope_and_growth()
    {
        var trends = RestoreHistory.Trends(new[]
        {
            E("h/postgres/db", 0, 10, 100 * 1048576L, 40), E("h/postgres/db", 1, 12, 110 * 1048576L, 40), E("h/postgres/db", 2, 14, 120 * 1048576L, 41, HbRestoreOutcome.Failed),
            E("h/other/db", 0, 5, 1048576, 3),
        });
        Assert.Equal(new[] { "h/other/db", "h/postgres/db" }, trends.Select(t => t.Target));
        var t = trends[1];
        Assert.Equal(3, t.Tests);
        Assert.Equal(1, t.Failed);
        Assert.Equal(10, t.FirstSeconds);
        Assert.Equal(14, t.LatestSeconds);
        Assert.Equal(12, t.MedianSeconds);
        Assert.Equal(14, t.MaxSeconds);
        Assert.Equal(2.0, t.SecondsPerDay);
        Assert.Equal(40.0, t.DurationChangePercent);
        Assert.Equal(20.0, t.SizeChangePercent);
        Assert.Equal(41, t.LatestTables);
        Assert.Null(trends[0].SecondsPerDay);
        Assert.Null(trends[0].DurationChangePercent);
    }

    [Fact]
    public void A_target_is_named_by_host_alias_container_and_database()
    {
        Assert.Equal("contabo/postgres/directus", RestoreHistory.TargetOf(new HbBackupArtefact
        {
            Host = new HbHost { Kind = HbHostKind.Ssh, Alias = "contabo", HostName = "127.0.0.1" }, Container = "postgres", Database = "directus",
        }));
        Assert.Equal("local/pg/app", RestoreHistory.TargetOf(new HbBackupArtefact { Container = "pg", Database = "app" }));
    }

    [Fact]
    public async Task Reads_local_records_oldest_first_with_the_change_from_the_previous_test()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-history-unit").FullName;
        try
        {
            var run = Directory.CreateDirectory(Path.Combine(dir, "hb_2026-05-01")).FullName;
            HbRestoreTestResult R(int minute, double seconds) => new()
            {
                Artefact = new HbBackupArtefact { Path = Path.Combine(run, "db_full.dump"), Container = "pg", Database = "db", SizeBytes = 1048576 },
                StartedUtc = new DateTime(2026, 5, 1, 0, minute, 0, DateTimeKind.Utc), DurationSeconds = seconds, Result = HbRestoreOutcome.Passed, TableCount = 41,
                Phases = { new HbPhaseTiming { Name = "Restore", Seconds = seconds / 2 } },
                RowCounts = { new HbRowCountComparison { Difference = 7 }, new HbRowCountComparison { Difference = 5 } },
            };
            File.WriteAllText(Path.Combine(run, "db_full.dump.restore-20260501T000200Z.yml"), HbYaml.Serialize(R(2, 12.5)));
            File.WriteAllText(Path.Combine(run, "db_full.dump.restore-20260501T000100Z.yml"), HbYaml.Serialize(R(1, 10)));
            File.WriteAllText(Path.Combine(run, "db_full.dump.manifest.yml"), "not a record");
            await using var local = new Hosts.LocalCommandHost();
            var list = await new RestoreHistory(local, true).ListAsync(dir, CancellationToken.None);
            Assert.Equal(2, list.Count);
            Assert.Equal(10, list[0].DurationSeconds);
            Assert.Null(list[0].DurationChangePercent);
            Assert.Equal(25.0, list[1].DurationChangePercent);
            Assert.Equal(6.25, list[1].RestoreSeconds);
            Assert.Equal(12, list[1].Rows);
            Assert.Equal("local/pg/db", list[1].Target);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

public class ClosureCriteriaTests
{
    [Fact]
    public void Content_and_catalog_criteria_are_decided_by_the_restore_and_amcheck_appears_only_when_it_ran()
    {
        var restore = new HbRestoreTestResult
        {
            ContentCheck = HbCheckStatus.Failed,
            Content = { new HbContentComparison { Schema = "proof", Table = "readings", Status = HbContentStatus.Different, Algorithm = "x" } },
            CatalogCheck = HbCheckStatus.Passed,
            Catalog = new HbCatalogComparison { ReferenceObjects = 214, DifferenceObjects = 213, Differences = { new HbCatalogDifference { Kind = HbCatalogObjectKind.UserMapping, Name = "m", Change = HbCatalogChange.Missing, Classification = HbDifferenceClass.Expected } } },
        };
        var record = ClosureRecordBuilder.Build("t", Array.Empty<HbBackupArtefact>(), new[] { restore }, Array.Empty<HbRowCountComparison>(), Array.Empty<HbSandboxRemoval>());
        var content = Assert.Single(record.Acceptance, a => a.Criterion.Contains("content"));
        Assert.Equal(HbCriterionStatus.Failed, content.Status);
        Assert.Contains("proof.readings Different", content.Evidence);
        var catalog = Assert.Single(record.Acceptance, a => a.Criterion.Contains("catalog"));
        Assert.Equal(HbCriterionStatus.Passed, catalog.Status);
        Assert.Contains("1 expected difference(s)", catalog.Evidence);
        Assert.DoesNotContain(record.Acceptance, a => a.Criterion.Contains("pg_amcheck"));

        restore.Amcheck = new HbAmcheckResult { Status = HbCheckStatus.Passed, ExitCode = 0, Command = "pg_amcheck", Message = "no corruption found" };
        restore.ContentCheck = HbCheckStatus.NotRun;
        record = ClosureRecordBuilder.Build("t", Array.Empty<HbBackupArtefact>(), new[] { restore }, Array.Empty<HbRowCountComparison>(), Array.Empty<HbSandboxRemoval>());
        Assert.Equal(HbCriterionStatus.Passed, Assert.Single(record.Acceptance, a => a.Criterion.Contains("pg_amcheck")).Status);
        Assert.Equal(HbCriterionStatus.NotEvaluated, Assert.Single(record.Acceptance, a => a.Criterion.Contains("content")).Status);
    }
}
