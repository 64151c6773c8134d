using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Newtonsoft.Json;
using TalosImage.Core;
using TalosImage.Core.Orders;

namespace TalosImage.Cli;

/// <summary>
/// talos-order --json: the run's results as one indented JSON object (orders, plan, manifests, removed, exit_code).
/// Written field by field with Newtonsoft's JsonTextWriter rather than by its serializer, whose contract building
/// (compiled expression trees for every property) cost a warm run about 70 ms at its very end, and which needs
/// reflection that the native build of talos-order does not keep for an anonymous object. The text is the same
/// (JsonReportTests compares the two, so a property added to TalosOrderResult and not here fails there).
/// </summary>
public static class JsonReport
{
    public static string Format(RunResult result)
    {
        var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        using (var w = new JsonTextWriter(text) { Formatting = Formatting.Indented })
        {
            Object(w, () =>
            {
                w.WritePropertyName("orders");
                Array(w, result.Orders, o => Object(w, () =>
                {
                    Property(w, nameof(o.OrderId), o.OrderId);
                    Property(w, nameof(o.Customer), o.Customer);
                    Property(w, nameof(o.Status), o.Status);
                    Property(w, nameof(o.Positions), o.Positions);
                    Property(w, nameof(o.Succeeded), o.Succeeded);
                    Property(w, nameof(o.Failed), o.Failed);
                    Property(w, nameof(o.Skipped), o.Skipped);
                    Property(w, nameof(o.Changed), o.Changed);
                    Property(w, nameof(o.ManifestPath), o.ManifestPath);
                    Property(w, nameof(o.BytesDownloaded), o.BytesDownloaded);
                    Property(w, nameof(o.BytesPushed), o.BytesPushed);
                    Property(w, nameof(o.Duration), o.Duration);
                    Property(w, nameof(o.DryRun), o.DryRun);
                }));
                // The plan rows (RunReport.PlanRows): strings, numbers, null and lists of strings.
                w.WritePropertyName("plan");
                Array(w, result.DryRun ? RunReport.PlanRows(result.Plan) : null, row => Object(w, () =>
                {
                    foreach (var pair in row)
                    {
                        Property(w, pair.Key, pair.Value);
                    }
                }));
                w.WritePropertyName("manifests");
                Array(w, result.DryRun ? result.Manifests : null, m => Object(w, () =>
                {
                    Property(w, nameof(m.Path), m.Path);
                    Property(w, nameof(m.Yaml), m.Yaml);
                }));
                w.WritePropertyName("removed");
                Array(w, result.Removed, r => w.WriteValue(r.Path));
                Property(w, "exit_code", result.ExitCode);
            });
        }
        return text.ToString();
    }

    private static void Object(JsonWriter w, Action properties)
    {
        w.WriteStartObject();
        properties();
        w.WriteEndObject();
    }

    /// <summary>A JSON array of <paramref name="items"/>, each written by <paramref name="item"/>; null for no list.</summary>
    private static void Array<T>(JsonWriter w, IEnumerable<T>? items, Action<T> item)
    {
        if (items is null)
        {
            w.WriteNull();
            return;
        }
        w.WriteStartArray();
        foreach (var x in items)
        {
            item(x);
        }
        w.WriteEndArray();
    }

    private static void Property(JsonWriter w, string name, object? value)
    {
        w.WritePropertyName(name);
        switch (value)
        {
            case IEnumerable<string> strings:
                Array(w, strings, w.WriteValue);
                break;
            case null or string or bool or int or long or double:
                w.WriteValue(value); // JsonWriter's own formatting of each primitive, as the serializer uses it
                break;
            default:
                throw new InvalidOperationException($"talos-order --json has no form for {name} ({value.GetType().Name})");
        }
    }
}
