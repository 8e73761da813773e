<#
.SYNOPSIS
    Generates the MAML help (en-US/HbOps.dll-Help.xml) from one source: the XML doc comments of the
    cmdlet classes (synopsis, description, examples, outputs, parameter summaries) plus the cmdlet
    metadata PowerShell itself reports for the built module.
#>
param(
    [Parameter(Mandatory)] [string] $DocXml,
    [Parameter(Mandatory)] [string] $ModuleDll,
    [Parameter(Mandatory)] [string] $OutFile
)
$ErrorActionPreference = 'Stop'

# Cmdlet metadata comes from a child pwsh so the build session never loads the module.
$metaScript = @'
param($dll)
Import-Module $dll
Get-Command -Module HbOps -CommandType Cmdlet | ForEach-Object {
    $cmd = $_
    [pscustomobject]@{
        Name = $cmd.Name
        Type = $cmd.ImplementingType.FullName
        Outputs = @($cmd.OutputType | ForEach-Object { $_.Name })
        Parameters = @($cmd.Parameters.Values | Where-Object { $_.Name -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_.Name -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters } | ForEach-Object {
            $p = $_
            [pscustomobject]@{
                Name = $p.Name
                Type = $p.ParameterType.Name
                Mandatory = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.Mandatory })
                Position = ($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] } | Select-Object -First 1).Position
                Pipeline = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and ($_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName) })
                Declaring = $cmd.ImplementingType.GetProperty($p.Name).DeclaringType.FullName
            }
        })
    }
} | ConvertTo-Json -Depth 5
'@
$json = & (Join-Path $PSHOME pwsh) -NoProfile -NonInteractive -Command "& { $metaScript } '$ModuleDll'"
if ($LASTEXITCODE -ne 0 -or -not $json) { throw "Could not read cmdlet metadata from $ModuleDll" }
$cmdlets = $json | ConvertFrom-Json

$doc = [xml](Get-Content -Raw $DocXml)
$members = @{}
foreach ($m in $doc.doc.members.member) { $members[$m.name] = $m }

function Get-Text($node) {
    if (-not $node) { return '' }
    $text = if ($node -is [string]) { $node } else { $node.InnerText }
    ($text -replace '\s+', ' ').Trim()
}

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$w = [System.Xml.XmlWriter]::Create($OutFile, $settings)
$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$w.WriteStartDocument()
$w.WriteStartElement('helpItems')
$w.WriteAttributeString('schema', 'maml')
foreach ($c in $cmdlets) {
    $typeDoc = $members["T:$($c.Type)"]
    if (-not $typeDoc) { throw "No XML documentation for $($c.Type)" }
    $synopsis = Get-Text ($typeDoc.summary.para | Where-Object { $_.type -eq 'synopsis' } | Select-Object -First 1)
    $description = Get-Text $typeDoc.remarks
    $verb, $noun = $c.Name -split '-', 2
    $w.WriteStartElement('command', 'command', $command)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('details', $command)
    $w.WriteElementString('name', $command, $c.Name)
    $w.WriteStartElement('description', $maml); $w.WriteElementString('para', $maml, $synopsis); $w.WriteEndElement()
    $w.WriteElementString('verb', $command, $verb)
    $w.WriteElementString('noun', $command, $noun)
    $w.WriteEndElement()
    $w.WriteStartElement('description', $maml)
    foreach ($para in ($description -split '(?<=\.)\s{2,}')) { $w.WriteElementString('para', $maml, $para) }
    $w.WriteEndElement()
    $w.WriteStartElement('syntax', $command)
    $w.WriteStartElement('syntaxItem', $command)
    $w.WriteElementString('name', $maml, $c.Name)
    $w.WriteEndElement()
    $w.WriteEndElement()
    $w.WriteStartElement('parameters', $command)
    foreach ($p in $c.Parameters) {
        $pDoc = $members["P:$($p.Declaring).$($p.Name)"]
        if (-not $pDoc) { throw "No XML documentation for parameter $($c.Name) -$($p.Name)" }
        $w.WriteStartElement('parameter', $command)
        $w.WriteAttributeString('required', $(if ($p.Mandatory) { 'true' } else { 'false' }))
        $w.WriteAttributeString('pipelineInput', $(if ($p.Pipeline) { 'true' } else { 'false' }))
        $w.WriteAttributeString('position', $(if ($null -ne $p.Position -and $p.Position -ge 0) { "$($p.Position)" } else { 'named' }))
        $w.WriteElementString('name', $maml, $p.Name)
        $w.WriteStartElement('description', $maml); $w.WriteElementString('para', $maml, (Get-Text $pDoc.summary)); $w.WriteEndElement()
        $w.WriteStartElement('parameterValue', $command); $w.WriteAttributeString('required', 'true'); $w.WriteString($p.Type); $w.WriteEndElement()
        $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $p.Type); $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteStartElement('returnValues', $command)
    foreach ($o in $c.Outputs) {
        $w.WriteStartElement('returnValue', $command)
        $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $o); $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteStartElement('examples', $command)
    $i = 0
    foreach ($ex in @($typeDoc.example)) {
        if (-not $ex) { continue }
        $i++
        $w.WriteStartElement('example', $command)
        $w.WriteElementString('title', $maml, "-------------------------- Example $i --------------------------")
        $w.WriteElementString('code', $dev, ($ex.SelectSingleNode('code').InnerText.Trim() -replace '(?m)^\s+', ''))
        $w.WriteStartElement('remarks', $dev); $w.WriteElementString('para', $maml, (Get-Text $ex.SelectSingleNode('para'))); $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()
