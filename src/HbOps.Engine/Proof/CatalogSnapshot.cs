using System.Globalization;
using System.Text.Json;
using HbOps.Engine.Postgres;
using HbOps.Model;

namespace HbOps.Engine.Proof;

/// <summary>Who the two sides of a catalog comparison are.</summary>
public sealed class CatalogSides
{
    /// <summary>Where the reference catalog came from.</summary>
    public RowCountSource ReferenceSource { get; init; } = RowCountSource.ArtefactSnapshot;
    /// <summary>Where the other catalog came from.</summary>
    public RowCountSource DifferenceSource { get; init; } = RowCountSource.Sandbox;
    /// <summary>The role pg_restore ran as in the sandbox: with --no-owner every restored object belongs to it.</summary>
    public string? RestoreUser { get; init; }
}

/// <summary>
/// Reads a database's catalog (one read-only statement) and compares two catalogs, classifying each difference as
/// Expected (explained by how HbOps restores: --no-owner, --no-privileges, roles not being part of a database dump,
/// sequences not being transactional, extension versions coming from the sandbox image, a newer major rendering
/// definitions differently) or Unexpected (everything else). Objects that belong to an extension are covered by the
/// extension itself and not listed one by one.
/// </summary>
public static class CatalogSnapshot
{
    /// <summary>The oldest server whose catalog HbOps reads (pg_proc.prokind, pg_sequences).</summary>
    public const int MinimumMajor = 11;

    /// <summary>The role HbOps grants read access in a sandbox to run assertions as (its grants are HbOps' own).</summary>
    public const string AssertionRole = ReadOnlyQuery.Role;

    /// <summary>
    /// SQL (one statement, no terminator) returning <c>{"v": server_version_num, "o": [{k,s,n,d,w,a}]}</c>; run it with
    /// <see cref="TextFormSettings"/> pinned (search_path decides how pg_get_*def qualify names). Columns that only some
    /// majors have are read through to_jsonb, so one text serves every major from <see cref="MinimumMajor"/> on.
    /// </summary>
    public static string BuildSelect() =>
        """
            WITH ns AS (
              SELECT oid, nspname, nspowner, nspacl FROM pg_namespace
              WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%'
            ), member AS (
              SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
            ), rel AS (
              SELECT c.*, n.nspname FROM pg_class c JOIN ns n ON n.oid = c.relnamespace
              WHERE NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_class'::regclass AND m.objid = c.oid)
            ), objs(k, s, n, d, w, a) AS (
              SELECT 'Schema', nspname, nspname, '', pg_get_userbyid(nspowner), nspacl::text FROM ns
              WHERE NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_namespace'::regclass AND m.objid = ns.oid)
              UNION ALL
              SELECT CASE c.relkind WHEN 'v' THEN 'View' WHEN 'm' THEN 'MaterializedView' WHEN 'S' THEN 'Sequence' ELSE 'Table' END,
                c.nspname, c.relname,
                CASE WHEN c.relkind IN ('r', 'p', 'f') THEN left(md5(concat_ws(' | ',
                    (SELECT string_agg(concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
                        CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN 'collate ' ||
                          (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co
                           JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
                        CASE WHEN a.attnotnull THEN 'not null' END, 'default ' || pg_get_expr(ad.adbin, ad.adrelid),
                        CASE a.attidentity WHEN 'a' THEN 'identity always' WHEN 'd' THEN 'identity by default' END,
                        CASE to_jsonb(a) ->> 'attgenerated' WHEN 's' THEN 'generated' END), ', ' ORDER BY a.attnum)
                     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                     LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                    CASE WHEN c.relkind = 'p' THEN 'partition by ' || pg_get_partkeydef(c.oid) END,
                    CASE WHEN c.relispartition THEN 'partition of ' ||
                      (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid) || ' ' || pg_get_expr(c.relpartbound, c.oid) END,
                    CASE WHEN c.relrowsecurity THEN 'row security' END, CASE WHEN c.relforcerowsecurity THEN 'forced' END)), 16)
                  WHEN c.relkind IN ('v', 'm') THEN left(md5(pg_get_viewdef(c.oid)), 16) ||
                    CASE WHEN c.relkind = 'm' AND NOT c.relispopulated THEN ' not populated' ELSE '' END
                  ELSE (SELECT coalesce(q.last_value::text, 'not called') FROM pg_sequences q WHERE q.schemaname = c.nspname AND q.sequencename = c.relname)
                END,
                pg_get_userbyid(c.relowner), c.relacl::text
              FROM rel c WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
              UNION ALL
              SELECT 'Index', c.nspname, c.relname, left(md5(pg_get_indexdef(c.oid)), 16), NULL, NULL FROM rel c WHERE c.relkind IN ('i', 'I')
              UNION ALL
              SELECT CASE p.prokind WHEN 'p' THEN 'Procedure' ELSE 'Function' END, n.nspname,
                p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                left(md5(concat_ws(' | ', p.prokind::text, pg_get_function_result(p.oid), p.prosrc, p.probin, p.provolatile::text, p.proisstrict,
                  p.prosecdef, p.proleakproof, p.proparallel::text, array_to_string(p.proconfig, ','),
                  (SELECT l.lanname FROM pg_language l WHERE l.oid = p.prolang))), 16),
                pg_get_userbyid(p.proowner), p.proacl::text
              FROM pg_proc p JOIN ns n ON n.oid = p.pronamespace
              WHERE NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid)
              UNION ALL
              SELECT 'Trigger', c.nspname, c.relname || '.' || t.tgname,
                left(md5(pg_get_triggerdef(t.oid)), 16) || CASE t.tgenabled WHEN 'O' THEN '' ELSE ' enabled=' || t.tgenabled::text END, NULL, NULL
              FROM pg_trigger t JOIN rel c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
              UNION ALL
              SELECT 'Constraint', c.nspname, c.relname || '.' || k.conname, left(md5(pg_get_constraintdef(k.oid)), 16), NULL, NULL
              FROM pg_constraint k JOIN rel c ON c.oid = k.conrelid
              UNION ALL
              SELECT 'Constraint', n.nspname, t.typname || '.' || k.conname, left(md5(pg_get_constraintdef(k.oid)), 16), NULL, NULL
              FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid JOIN ns n ON n.oid = t.typnamespace
              WHERE NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_type'::regclass AND m.objid = t.oid)
              UNION ALL
              SELECT 'Type', n.nspname, t.typname,
                CASE t.typtype
                  WHEN 'd' THEN 'domain ' || left(md5(concat_ws(' ', format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault)), 16)
                  WHEN 'e' THEN 'enum ' || left(md5((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)), 16)
                  WHEN 'r' THEN 'range ' || (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
                  WHEN 'c' THEN 'composite ' || left(md5((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                                  FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)), 16)
                  ELSE 'base' END,
                pg_get_userbyid(t.typowner), t.typacl::text
              FROM pg_type t JOIN ns n ON n.oid = t.typnamespace
              WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r') AND (t.typrelid = 0 OR (SELECT r.relkind FROM pg_class r WHERE r.oid = t.typrelid) = 'c')
                AND NOT EXISTS (SELECT 1 FROM pg_type el WHERE el.typarray = t.oid)
                AND NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_type'::regclass AND m.objid = t.oid)
              UNION ALL
              SELECT 'Policy', c.nspname, c.relname || '.' || p.polname,
                left(md5(concat_ws(' | ', p.polcmd::text, p.polpermissive,
                  (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END, ',' ORDER BY 1) FROM unnest(p.polroles) r),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))), 16), NULL, NULL
              FROM pg_policy p JOIN rel c ON c.oid = p.polrelid
              UNION ALL
              SELECT 'Extension', n.nspname, e.extname, e.extversion, pg_get_userbyid(e.extowner), NULL
              FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
              UNION ALL
              SELECT 'ForeignServer', '', s.srvname, (SELECT w.fdwname FROM pg_foreign_data_wrapper w WHERE w.oid = s.srvfdw),
                pg_get_userbyid(s.srvowner), s.srvacl::text FROM pg_foreign_server s
              UNION ALL
              SELECT 'UserMapping', '', u.srvname || ' for ' || u.usename, '', NULL, NULL FROM pg_user_mappings u
              UNION ALL
              SELECT 'EventTrigger', '', e.evtname, e.evtevent || ' ' || e.evtenabled::text, pg_get_userbyid(e.evtowner), NULL FROM pg_event_trigger e
              UNION ALL
              SELECT 'LargeObjects', '', 'count', count(*)::text, NULL, NULL FROM pg_largeobject_metadata
              UNION ALL
              SELECT 'Database', '', x.name, x.value, NULL, NULL FROM pg_database d,
                LATERAL (VALUES ('encoding', pg_encoding_to_char(d.encoding)::text), ('lc_collate', d.datcollate::text), ('lc_ctype', d.datctype::text)) x(name, value)
              WHERE d.datname = current_database()
            )
            SELECT json_build_object('v', current_setting('server_version_num')::int,
              'o', coalesce((SELECT json_agg(json_build_object('k', k, 's', s, 'n', n, 'd', d, 'w', w, 'a', a) ORDER BY k, s, n) FROM objs), '[]'::json))
            """;

    /// <summary>Parses the JSON produced by <see cref="BuildSelect"/>.</summary>
    public static HbCatalogSnapshot Parse(string json, DateTime takenAtUtc, string? snapshotId)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        string? Str(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.GetProperty(name).GetString();
        return new HbCatalogSnapshot
        {
            TakenAtUtc = takenAtUtc, SnapshotId = snapshotId, ServerVersionNum = root.GetProperty("v").GetInt32(),
            Objects = root.GetProperty("o").EnumerateArray().Select(e => new HbCatalogObject
            {
                Kind = Enum.Parse<HbCatalogObjectKind>(e.GetProperty("k").GetString()!),
                Schema = Str(e, "s") ?? "", Name = Str(e, "n") ?? "", Detail = Str(e, "d") ?? "", Owner = Str(e, "w"), Privileges = Str(e, "a"),
            }).ToList(),
        };
    }

    /// <summary>Reads a live database's catalog in its own read-only transaction.</summary>
    public static async Task<HbCatalogSnapshot> ReadAsync(ISqlEndpoint endpoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var taken = DateTime.UtcNow;
        var json = await endpoint.ScalarAsync("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n" + TextFormSettings.SetLocalSql +
            BuildSelect() + ";\nCOMMIT;", ct).ConfigureAwait(false);
        return Parse(json, taken, null);
    }

    /// <summary>Compares two catalogs: counts per schema and kind, and every difference, classified.</summary>
    public static HbCatalogComparison Compare(HbCatalogSnapshot reference, HbCatalogSnapshot difference, CatalogSides sides)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(difference);
        ArgumentNullException.ThrowIfNull(sides);
        static string Key(HbCatalogObject o) => $"{o.Kind}\u0001{o.Schema}\u0001{o.Name}";
        var left = reference.Objects.GroupBy(Key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var right = difference.Objects.GroupBy(Key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var result = new HbCatalogComparison
        {
            ReferenceSource = sides.ReferenceSource, DifferenceSource = sides.DifferenceSource,
            ReferenceObjects = reference.Objects.Count, DifferenceObjects = difference.Objects.Count,
        };
        var counts = reference.Objects.Select(o => (o.Schema, o.Kind, Side: 0)).Concat(difference.Objects.Select(o => (o.Schema, o.Kind, Side: 1)))
            .GroupBy(x => (x.Schema, x.Kind))
            .OrderBy(g => g.Key.Schema, StringComparer.Ordinal).ThenBy(g => g.Key.Kind)
            .Select(g => new HbCatalogCount { Schema = g.Key.Schema, Kind = g.Key.Kind, Reference = g.Count(x => x.Side == 0), Difference = g.Count(x => x.Side == 1) });
        result.Counts.AddRange(counts);
        var newerMajor = difference.ServerVersionNum / 10000 > reference.ServerVersionNum / 10000;
        foreach (var key in left.Keys.Union(right.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            left.TryGetValue(key, out var l);
            right.TryGetValue(key, out var r);
            if (l is null) result.Differences.Add(Extra(r!, sides));
            else if (r is null) result.Differences.Add(Missing(l, sides));
            else
            {
                if (DetailDiffers(l, r)) result.Differences.Add(DefinitionChanged(l, r, sides, newerMajor, reference.ServerVersionNum, difference.ServerVersionNum));
                if (l.Owner is not null && r.Owner is not null && l.Owner != r.Owner) result.Differences.Add(OwnerChanged(l, r, sides));
                if ((l.Privileges ?? "") != (r.Privileges ?? "")) result.Differences.Add(PrivilegesChanged(l, r, sides));
            }
        }
        return result;
    }

    /// <summary>A sentence naming the first unexpected differences.</summary>
    public static string DescribeUnexpected(HbCatalogComparison comparison, int max = 5)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        var bad = comparison.Differences.Where(d => d.Classification == HbDifferenceClass.Unexpected).ToList();
        return string.Join("; ", bad.Take(max).Select(d => d.Change switch
        {
            HbCatalogChange.Missing => $"{d.Kind} {d.QualifiedName} missing on the {comparison.DifferenceSource} side",
            HbCatalogChange.Extra => $"{d.Kind} {d.QualifiedName} only on the {comparison.DifferenceSource} side",
            _ => $"{d.Kind} {d.QualifiedName} {d.Change.ToString().ToLowerInvariant()} '{d.Reference}' -> '{d.Difference}'",
        })) + (bad.Count > max ? $"; and {bad.Count - max} more" : "");
    }

    private static bool DetailDiffers(HbCatalogObject l, HbCatalogObject r) =>
        l.Kind == HbCatalogObjectKind.Database && l.Name is "lc_collate" or "lc_ctype" or "encoding"
            ? NormalizeLocale(l.Detail) != NormalizeLocale(r.Detail)
            : l.Detail != r.Detail;

    // en_US.UTF-8 and en_US.utf8 name the same locale.
    private static string NormalizeLocale(string value) => value.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant();

    private static HbCatalogDifference Diff(HbCatalogObject o, HbCatalogChange change, string reference, string difference,
        HbDifferenceClass classification, string reason) => new()
    {
        Kind = o.Kind, Schema = o.Schema, Name = o.Name, Change = change, Reference = reference, Difference = difference,
        Classification = classification, Reason = reason,
    };

    private static bool IntoSandbox(CatalogSides sides) => sides.DifferenceSource == RowCountSource.Sandbox;

    private static HbCatalogDifference Missing(HbCatalogObject o, CatalogSides sides)
    {
        if (IntoSandbox(sides) && o.Kind == HbCatalogObjectKind.UserMapping)
        {
            var role = o.Name[(o.Name.LastIndexOf(" for ", StringComparison.Ordinal) + 5)..];
            if (!string.Equals(role, "public", StringComparison.OrdinalIgnoreCase) && role != sides.RestoreUser)
            {
                return Diff(o, HbCatalogChange.Missing, o.Detail, "", HbDifferenceClass.Expected,
                    $"The sandbox has no role '{role}': roles are not part of a database dump, so pg_restore could not create the mapping (a known non-fatal message).");
            }
        }
        return Diff(o, HbCatalogChange.Missing, o.Detail, "", HbDifferenceClass.Unexpected, $"In {sides.ReferenceSource}'s catalog but not in {sides.DifferenceSource}'s.");
    }

    private static HbCatalogDifference Extra(HbCatalogObject o, CatalogSides sides)
    {
        if (IntoSandbox(sides) && o.Kind == HbCatalogObjectKind.Extension && o.Name == "amcheck")
        {
            return Diff(o, HbCatalogChange.Extra, "", o.Detail, HbDifferenceClass.Expected,
                "Installed in the sandbox by pg_amcheck --install-missing (Test-HbRestore -Amcheck).");
        }
        return Diff(o, HbCatalogChange.Extra, "", o.Detail, HbDifferenceClass.Unexpected, $"In {sides.DifferenceSource}'s catalog but not in {sides.ReferenceSource}'s.");
    }

    private static HbCatalogDifference DefinitionChanged(HbCatalogObject l, HbCatalogObject r, CatalogSides sides, bool newerMajor, int refNum, int difNum)
    {
        if (l.Kind == HbCatalogObjectKind.Sequence)
        {
            var lv = SequenceValue(l.Detail);
            var rv = SequenceValue(r.Detail);
            if (IntoSandbox(sides) && rv >= lv)
            {
                return Diff(l, HbCatalogChange.Definition, l.Detail, r.Detail, HbDifferenceClass.Expected,
                    "Sequences are not transactional: production advanced it after the catalog was read and before pg_dump read it.");
            }
            return Diff(l, HbCatalogChange.Definition, l.Detail, r.Detail, HbDifferenceClass.Unexpected,
                $"The sequence on the {sides.DifferenceSource} side is behind {sides.ReferenceSource}'s: its next values can collide with existing ids.");
        }
        if (IntoSandbox(sides) && l.Kind == HbCatalogObjectKind.Extension)
        {
            return Diff(l, HbCatalogChange.Definition, l.Detail, r.Detail, HbDifferenceClass.Expected,
                "A dump creates an extension without a version: the sandbox image installs its own default version.");
        }
        if (IntoSandbox(sides) && newerMajor && l.Kind is not (HbCatalogObjectKind.Database or HbCatalogObjectKind.LargeObjects))
        {
            return Diff(l, HbCatalogChange.Definition, l.Detail, r.Detail, HbDifferenceClass.Expected,
                $"The sandbox runs a newer major ({difNum / 10000}) than the source ({refNum / 10000}), which renders or stores this definition differently; the restore into the source's own major was not tested.");
        }
        var reason = l.Kind == HbCatalogObjectKind.Database
            ? "The sandbox's cluster was initialised with another encoding or locale: sort order, and so indexes and query results, can differ."
            : "The definition differs.";
        return Diff(l, HbCatalogChange.Definition, l.Detail, r.Detail, HbDifferenceClass.Unexpected, reason);
    }

    // A sequence's detail is its last value, or 'not called' (nothing taken yet: below any value).
    private static long SequenceValue(string detail) =>
        long.TryParse(detail, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : long.MinValue;

    // Objects every new database has before anything is restored (initdb's plpgsql, the public schema): pg_dump does not
    // recreate them, so in a sandbox they keep the owner (and default privileges) initdb gave them, in the name of the
    // sandbox cluster's bootstrap superuser, whoever owns them in production.
    private static bool MadeByInitdb(HbCatalogObject o) =>
        o.Kind == HbCatalogObjectKind.Extension || (o.Kind == HbCatalogObjectKind.Schema && o.Name == "public");

    private static HbCatalogDifference OwnerChanged(HbCatalogObject l, HbCatalogObject r, CatalogSides sides)
    {
        if (IntoSandbox(sides) && sides.RestoreUser is not null && r.Owner == sides.RestoreUser)
        {
            return Diff(l, HbCatalogChange.Owner, l.Owner!, r.Owner!, HbDifferenceClass.Expected,
                $"Restored with --no-owner: every object belongs to the restoring role '{sides.RestoreUser}'.");
        }
        if (IntoSandbox(sides) && MadeByInitdb(l))
        {
            return Diff(l, HbCatalogChange.Owner, l.Owner!, r.Owner!, HbDifferenceClass.Expected,
                "A database gets this object from initdb, not from the dump: in the sandbox it belongs to the cluster's bootstrap superuser.");
        }
        return Diff(l, HbCatalogChange.Owner, l.Owner!, r.Owner!, HbDifferenceClass.Unexpected, "The owner differs.");
    }

    private static HbCatalogDifference PrivilegesChanged(HbCatalogObject l, HbCatalogObject r, CatalogSides sides)
    {
        var reference = l.Privileges ?? "";
        var restored = WithoutAssertionRole(r.Privileges, r.Owner);
        if (IntoSandbox(sides) && restored.Length == 0)
        {
            return Diff(l, HbCatalogChange.Privileges, reference, r.Privileges ?? "", HbDifferenceClass.Expected,
                reference.Length > 0
                    ? "Restored with --no-privileges: grants are not restored."
                    : $"HbOps granted read access to its assertion role '{AssertionRole}' in the sandbox.");
        }
        if (IntoSandbox(sides) && MadeByInitdb(l) && l.Owner is not null && r.Owner is not null && InOwnersName(reference, l.Owner, r.Owner) == restored)
        {
            return Diff(l, HbCatalogChange.Privileges, reference, r.Privileges ?? "", HbDifferenceClass.Expected,
                "The same default privileges, in the name of the sandbox cluster's bootstrap superuser (the object comes from initdb).");
        }
        return Diff(l, HbCatalogChange.Privileges, reference, r.Privileges ?? "", HbDifferenceClass.Unexpected, "The explicit privileges differ.");
    }

    // An ACL with one role (as grantee and as grantor) renamed.
    private static string InOwnersName(string acl, string from, string to)
    {
        if (!acl.StartsWith('{')) return acl;
        var items = acl.Trim('{', '}').Split(',', StringSplitOptions.RemoveEmptyEntries).Select(item =>
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            var slash = item.LastIndexOf('/');
            if (eq < 0 || slash < eq) return item;
            var grantee = item[..eq] == from ? to : item[..eq];
            var grantor = item[(slash + 1)..] == from ? to : item[(slash + 1)..];
            return grantee + item[eq..(slash + 1)] + grantor;
        });
        return "{" + string.Join(",", items) + "}";
    }

    // The ACL without what HbOps itself adds in a sandbox: grants to its assertion role, and the owner's own entry that
    // appears beside the first grant. Empty when nothing else remains; the ACL unchanged when it holds anything else.
    private static string WithoutAssertionRole(string? acl, string? owner)
    {
        if (string.IsNullOrEmpty(acl)) return "";
        var items = acl.Trim('{', '}').Split(',', StringSplitOptions.RemoveEmptyEntries);
        var ours = items.Where(i => i.StartsWith(AssertionRole + "=", StringComparison.Ordinal)).ToList();
        if (ours.Count == 0) return acl;
        var rest = items.Except(ours).Where(i => owner is null || !i.StartsWith(owner + "=", StringComparison.Ordinal));
        return rest.Any() ? acl : "";
    }
}
