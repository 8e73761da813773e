using HbOps.Engine.Postgres;
using HbOps.Engine.RowCounts;
using HbOps.Model;

namespace HbOps.Engine.Proof;

/// <summary>One side of a content or catalog comparison: a live database (production, read-only; a sandbox) or what an artefact recorded in the dump's snapshot.</summary>
public sealed class ProofSide
{
    /// <summary>Where it comes from.</summary>
    public RowCountSource Source { get; init; }
    /// <summary>Live database (Production, Sandbox).</summary>
    public ISqlEndpoint? Endpoint { get; init; }
    /// <summary>Recorded fingerprints (ArtefactSnapshot).</summary>
    public HbContentFingerprintSnapshot? Fingerprints { get; init; }
    /// <summary>Recorded catalog (ArtefactSnapshot).</summary>
    public HbCatalogSnapshot? Catalog { get; init; }
    /// <summary>A sandbox's restoring role (every restored object belongs to it).</summary>
    public string? RestoreUser { get; init; }
}

/// <summary>Compares content fingerprints or catalogs of two sides (live sides read in parallel, each in one read-only transaction).</summary>
public static class ProofService
{
    /// <summary>
    /// Per-table content comparison. The tables are the recorded fingerprints' (when the reference side is an artefact)
    /// or the reference database's, narrowed by <paramref name="filter"/>; live sides are fingerprinted with
    /// <paramref name="algorithm"/> (the recorded one when there is a record).
    /// </summary>
    public static async Task<List<HbContentComparison>> CompareContentAsync(ProofSide reference, ProofSide difference, TableFilter filter,
        string algorithm, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(difference);
        ArgumentNullException.ThrowIfNull(filter);
        var recorded = reference.Fingerprints ?? difference.Fingerprints;
        if (recorded is not null) algorithm = recorded.Algorithm;
        List<string> tables;
        if (recorded is not null)
        {
            tables = recorded.Tables.Where(t => filter.Matches(t.Schema, t.Table)).Select(t => t.QualifiedName).ToList();
        }
        else
        {
            using var doc = await (reference.Endpoint ?? throw new ArgumentException("A side needs an endpoint or fingerprints.", nameof(reference)))
                .JsonAsync(RowCounter.ListTablesQuery(), ct).ConfigureAwait(false);
            tables = doc.RootElement.EnumerateArray().Select(e => (S: e.GetProperty("s").GetString()!, T: e.GetProperty("t").GetString()!))
                .Where(x => filter.Matches(x.S, x.T)).Select(x => x.S + "." + x.T).ToList();
        }
        if (tables.Count == 0) return new List<HbContentComparison>();
        var mode = recorded?.Mode ?? HbFingerprintMode.All;
        var left = SideAsync(reference, mode, algorithm, tables, filter, ct);
        var right = SideAsync(difference, mode, algorithm, tables, filter, ct);
        await Task.WhenAll(left, right).ConfigureAwait(false);
        return ContentFingerprint.Compare(await left.ConfigureAwait(false), reference.Source, await right.ConfigureAwait(false), difference.Source);
    }

    private static async Task<HbContentFingerprintSnapshot> SideAsync(ProofSide side, HbFingerprintMode mode, string algorithm, List<string> tables,
        TableFilter filter, CancellationToken ct)
    {
        if (side.Fingerprints is { } f)
        {
            return new HbContentFingerprintSnapshot
            {
                Mode = f.Mode, Algorithm = f.Algorithm, Settings = f.Settings, TakenAtUtc = f.TakenAtUtc, SnapshotId = f.SnapshotId, Seconds = f.Seconds,
                Tables = f.Tables.Where(t => filter.Matches(t.Schema, t.Table)).ToList(),
            };
        }
        var endpoint = side.Endpoint ?? throw new ArgumentException("A side needs an endpoint or fingerprints.", nameof(side));
        return await ContentFingerprint.ComputeAsync(endpoint, mode, algorithm, tables, ct).ConfigureAwait(false);
    }

    /// <summary>Compares two catalogs (live ones read in parallel).</summary>
    public static async Task<HbCatalogComparison> CompareCatalogAsync(ProofSide reference, ProofSide difference, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(difference);
        var left = CatalogAsync(reference, ct);
        var right = CatalogAsync(difference, ct);
        await Task.WhenAll(left, right).ConfigureAwait(false);
        return CatalogSnapshot.Compare(await left.ConfigureAwait(false), await right.ConfigureAwait(false), new CatalogSides
        {
            ReferenceSource = reference.Source, DifferenceSource = difference.Source, RestoreUser = difference.RestoreUser,
        });
    }

    private static Task<HbCatalogSnapshot> CatalogAsync(ProofSide side, CancellationToken ct) => side.Catalog is { } c
        ? Task.FromResult(c)
        : CatalogSnapshot.ReadAsync(side.Endpoint ?? throw new ArgumentException("A side needs an endpoint or a catalog.", nameof(side)), ct);
}
